package org.loraquant.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Named pipes for tests of what readers do with them; skips the test where mkfifo is missing. */
public final class Fifos {
  private Fifos() {}

  /** Creates a FIFO at {@code path} (its folder too), or aborts the test if that is impossible. */
  public static Path make(Path path) throws IOException, InterruptedException {
    Files.createDirectories(path.getParent());
    Process mkfifo;
    try {
      mkfifo =
          new ProcessBuilder("mkfifo", path.toString())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
    } catch (IOException e) {
      Assumptions.abort("mkfifo is not available on this machine: " + e.getMessage());
      throw e; // not reached
    }
    Assumptions.assumeTrue(
        mkfifo.waitFor() == 0 && Files.exists(path), "mkfifo could not create " + path);
    return path;
  }
}
