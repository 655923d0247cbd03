package org.loraquant.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import org.loraquant.hadoop.OutputFileIO;
import org.loraquant.stats.StatsTables;

/**
 * Test only: named moments of a run at which a test stops the JVM as {@code kill -9} would, or
 * holds the run, so that kill and concurrency tests hit the same moment every time ({@code
 * KillMatrixIT}). Inert unless one of these system properties is set; never set them in
 * production:
 *
 * <ul>
 *   <li>{@code -Dloraquant.test.halt-at=POINT}: {@code Runtime.halt(137)} (no shutdown hooks, no
 *       cleanup, like a SIGKILL) when the run reaches POINT;
 *   <li>{@code -Dloraquant.test.pause-at=POINT -Dloraquant.test.pause-until=FILE}: wait at POINT
 *       until FILE exists.
 * </ul>
 *
 * <p>Points: {@code before-outputs} (lock held, nothing listed or written), {@code
 * output-committed} (an adapter's staged output was just renamed into place: local and HDFS
 * outputs only), {@code layers-file-open} / {@code adapters-file-open} (one of the table's new files
 * was created, staged or in place, and holds no row; the first halts), {@code layers-files-written} / {@code
 * adapters-files-written} (every row and footer of the table's new files written, none committed),
 * {@code between-tables} (the layers' files written, none committed; the adapters' not
 * written yet).
 */
public final class KillPoints {
  public static final String HALT_AT = "loraquant.test.halt-at";
  public static final String PAUSE_AT = "loraquant.test.pause-at";
  public static final String PAUSE_UNTIL = "loraquant.test.pause-until";

  static final String BEFORE_OUTPUTS = "before-outputs";
  static final String OUTPUT_COMMITTED = "output-committed";
  static final String BETWEEN_TABLES = "between-tables";
  static final String FILE_OPEN = StatsTables.FILE_OPEN;
  static final String FILES_WRITTEN = StatsTables.FILES_WRITTEN;

  private KillPoints() {}

  /** The {@code output-committed} point, as the output's writer reports it (on the executors). */
  enum OutputCommitted implements OutputFileIO.Committed {
    INSTANCE;

    @Override
    public void outputCommitted() {
      reached(OUTPUT_COMMITTED);
    }
  }

  /** Halts or pauses here if a test asked for this point. */
  static void reached(String point) {
    if (point.equals(System.getProperty(HALT_AT))) {
      Runtime.getRuntime().halt(137);
    }
    if (point.equals(System.getProperty(PAUSE_AT))) {
      Path until = Path.of(System.getProperty(PAUSE_UNTIL, "/nonexistent"));
      while (!Files.exists(until)) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
