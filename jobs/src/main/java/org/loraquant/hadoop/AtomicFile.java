package org.loraquant.hadoop;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Locale;
import java.util.Set;
import org.apache.hadoop.fs.Abortable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * One file that appears at its path whole or not at all: readers never see it half-written, and a
 * write that fails or is killed leaves nothing at the path.
 *
 * <ul>
 *   <li><b>In place</b> on object stores that publish an object only when its upload completes
 *       ({@link #IN_PLACE_SCHEMES}: S3A, GCS): the file is created at its path through {@link
 *       HadoopFileIO#newOutputFile} (on S3A one PUT, or a multipart upload above {@code
 *       fs.s3a.multipart.size}, with no probes of the path) and becomes visible at {@link #commit}.
 *       {@link #abort} abandons the upload without completing it; a write killed outright leaves at
 *       most an incomplete multipart upload, which no listing shows (a bucket lifecycle rule that
 *       aborts incomplete uploads reclaims its parts).
 *   <li><b>Staged</b> everywhere else (local disks, HDFS, ...): written under a staging folder the
 *       caller names, then renamed to its path at {@link #commit}. Renaming one file is atomic on
 *       those file systems; a killed write leaves its staged file, which only the caller's staging
 *       folder holds (so the caller decides when that folder is a dead write's and removes it).
 * </ul>
 *
 * <p>Not thread-safe. Either {@link #commit} or {@link #abort} ends it.
 */
public final class AtomicFile {
  /** Schemes whose stores make an object visible only once its upload is complete. */
  static final Set<String> IN_PLACE_SCHEMES = Set.of("s3a", "gs");

  private final HadoopFileIO io;
  private final Path target;
  private final Path staged; // null: written in place
  private final OutputStream out;
  private boolean ended;

  private AtomicFile(HadoopFileIO io, Path target, Path staged, OutputStream out) {
    this.io = io;
    this.target = target;
    this.staged = staged;
    this.out = out;
  }

  /**
   * Creates the file: in place or under {@code stagingFolder}, by the scheme of {@code path} (see
   * the class comment). Nothing is visible at {@code path} until {@link #commit}.
   *
   * @param path where the file appears; nothing may exist there (names are expected to be unique)
   * @param stagingFolder a folder only this writer's kind uses, on the same file system as {@code
   *     path}, where a staged file waits for its rename under the same name
   */
  public static AtomicFile create(HadoopFileIO io, String path, String stagingFolder)
      throws IOException {
    Path target = new Path(path);
    String scheme = io.fileSystem(target).getUri().getScheme();
    if (scheme != null && IN_PLACE_SCHEMES.contains(scheme.toLowerCase(Locale.ROOT))) {
      return new AtomicFile(io, target, null, io.newOutputFile(path).create());
    }
    Path staged = new Path(stagingFolder, target.getName());
    return new AtomicFile(io, target, staged, io.newOutputFile(staged.toString()).create());
  }

  /** Where the bytes go; closing it is {@link #commit}'s job, not the caller's. */
  public OutputStream stream() {
    return out;
  }

  /** True when the file waits under the staging folder until its commit. */
  public boolean staged() {
    return staged != null;
  }

  public String path() {
    return target.toString();
  }

  /** Makes the file visible at its path, whole: completes the upload, or renames the staged file. */
  public void commit() throws IOException {
    requireOpen();
    ended = true;
    out.close();
    if (staged == null) {
      return;
    }
    FileSystem fs = io.fileSystem(target);
    // HDFS and local disks refuse to rename into a folder that does not exist.
    fs.mkdirs(target.getParent());
    if (!fs.rename(staged, target)) {
      throw new IOException(
          "Cannot move "
              + staged
              + " to "
              + target
              + ": the file system refused the rename (does "
              + target
              + " exist already?)");
    }
  }

  /**
   * Leaves nothing at the path: the upload is abandoned (never completed), or the staged file is
   * deleted. Best effort, never throws: it runs when something else already went wrong.
   */
  public void abort() {
    if (ended) {
      return;
    }
    ended = true;
    if (staged == null) {
      // Closing would complete the upload and publish a partial file: abort it instead. A stream
      // that cannot abort is left unclosed, so its upload is never completed.
      if (out instanceof Abortable abortable) {
        try {
          abortable.abort();
        } catch (UnsupportedOperationException e) {
          // not abortable after all: left unclosed, as above
        }
      }
      return;
    }
    try {
      out.close();
    } catch (IOException e) {
      // the staged file is deleted below either way
    }
    try {
      io.fileSystem(staged).delete(staged, false);
    } catch (IOException e) {
      // a staged leftover is harmless: only the staging folder holds it
    }
  }

  private void requireOpen() {
    if (ended) {
      throw new IllegalStateException(target + ": already committed or aborted");
    }
  }
}
