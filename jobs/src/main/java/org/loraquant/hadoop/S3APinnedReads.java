package org.loraquant.hadoop;

import java.io.IOException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.s3a.RemoteFileChangedException;
import org.apache.hadoop.fs.s3a.S3AFileStatus;
import org.apache.hadoop.fs.s3a.S3AFileSystem;
import org.apache.hadoop.fs.s3a.impl.ChangeDetectionPolicy;
import org.loraquant.plan.DiscoveredAdapter;

/**
 * S3A's side of {@link HadoopFileIO#pinnedTo}: the only class of ours that names S3A's classes.
 * hadoop-aws is a provided dependency that the local job and the CLI run without, so this class
 * is used (and so loaded and verified, which loads S3A's classes it names) only after {@link
 * HadoopFileIO} found the file system to be S3A by its class name; HadoopFileIO names none of
 * S3A's types itself.
 *
 * <p>How a read is pinned (hadoop-aws 3.4): {@code openFile(path).withFileStatus(status)} with an
 * {@link S3AFileStatus} that carries the listed ETag makes the stream's {@code ChangeTracker}
 * start with that ETag as the expected revision ({@code OpenFileSupport.prepareToOpenFile}), so
 * the very first GET is already checked: in change-detection mode {@code server} it is sent with
 * {@code If-Match} and a store holding another version answers 412, in mode {@code client} the
 * response's ETag is compared before any byte is handed out; either way S3A raises {@link
 * RemoteFileChangedException} and does not retry it. A status of any other class loses the ETag
 * (S3A then pins whatever its first GET sees), and modes {@code warn} and {@code none}, or source
 * {@code versionid} (listings have no version ids), pin nothing: then reads are not pinned.
 */
final class S3APinnedReads {
  private S3APinnedReads() {}

  /**
   * Whether S3A refuses a read given a listed ETag when the object is another version: change
   * detection by ETag, in mode {@code server} or {@code client} (its settings as this file system
   * resolved them, per-bucket ones included). Only for an S3A file system.
   */
  static boolean refusesOtherVersions(FileSystem fs) {
    ChangeDetectionPolicy policy = ((S3AFileSystem) fs).getChangeDetectionPolicy();
    return policy.getSource() == ChangeDetectionPolicy.Source.ETag
        && (policy.getMode() == ChangeDetectionPolicy.Mode.Server
            || policy.getMode() == ChangeDetectionPolicy.Mode.Client);
  }

  /** The status to open {@code path} with: the listed length, time and ETag. */
  static FileStatus listed(Path path, DiscoveredAdapter.AdapterFile file) {
    return new S3AFileStatus(
        file.size(), file.modificationTime(), path, 0, "", file.etag(), null);
  }

  /** Whether a read failed because the object is no longer the version it was pinned to. */
  static boolean refusedAsChanged(IOException e) {
    // S3A raises it as is; a wrapper (an awaited future, say) may hold it as its cause.
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RemoteFileChangedException) {
        return true;
      }
    }
    return false;
  }
}
