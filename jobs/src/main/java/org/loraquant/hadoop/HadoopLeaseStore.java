package org.loraquant.hadoop;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.fs.BulkDelete;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Options.OpenFileOptions;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.util.functional.FutureIO;
import org.loraquant.lock.LeaseStore;
import org.loraquant.lock.LocalLeaseStore;

/**
 * Lease files of the run lock ({@link org.loraquant.lock.RunLock}) on a Hadoop file system.
 *
 * <p>The lock writes only files of its own (nothing conditional): on S3A a write is one PUT that
 * skips S3A's checks of the path ({@code fs.s3a.create.performance}: no HEAD or LIST before it),
 * visible to every listing once it returns (S3's list-after-write consistency); on HDFS it is
 * {@code create(path, overwrite = true)}, listed from the moment it is created (a listing that
 * catches it being written reads no lease in it, which the lock counts as live). Local disks go
 * through {@link LocalLeaseStore}.
 *
 * <p>Requests saved on object stores, without weakening a check: a lease this store wrote is read
 * back by one GET of the length it wrote (no HEAD), and only bytes equal to what it wrote are taken
 * as read that way (anything else is read again in full, the usual way); a lease just listed is
 * read with its listed status (length and ETag: no HEAD; if it changed since, S3A's change
 * detection fails the GET and it is read again the usual way; with {@code
 * fs.s3a.change.detection.mode=none} a lease renewed in between may be read cut short, which the
 * lock counts as a live lease it cannot read, so it refuses rather than take it); on S3A a
 * deletion is one DELETE, through Hadoop's bulk-delete API with one path (S3A's {@code delete}
 * adds a HEAD before it and a LIST and a folder-marker PUT after; the lock folder needs no marker:
 * a missing folder lists empty). Throttling is retried as for any S3A request.
 */
public final class HadoopLeaseStore implements LeaseStore {
  private final FileSystem fs;
  private final Path folder;
  private final boolean s3a;
  /** Statuses of the last listing, each used by one read at most. */
  private final Map<String, FileStatus> listed = new ConcurrentHashMap<>();
  /** What this store last wrote under each name. */
  private final Map<String, byte[]> written = new ConcurrentHashMap<>();

  private HadoopLeaseStore(FileSystem fs, Path folder) {
    this.fs = fs;
    this.folder = folder;
    this.s3a = "s3a".equals(fs.getScheme());
  }

  /** The store of the lock folder under {@code root}: local disks natively, others via Hadoop. */
  public static LeaseStore under(HadoopFileIO io, String root) throws IOException {
    Path rootPath = new Path(root);
    FileSystem fs = io.fileSystem(rootPath);
    Path folder = new Path(fs.makeQualified(rootPath), org.loraquant.lock.RunLock.FOLDER);
    if (fs instanceof LocalFileSystem local) {
      return new LocalLeaseStore(local.pathToFile(folder).toPath());
    }
    if (fs instanceof RawLocalFileSystem raw) {
      return new LocalLeaseStore(raw.pathToFile(folder).toPath());
    }
    return new HadoopLeaseStore(fs, folder);
  }

  @Override
  public String location() {
    return folder.toString();
  }

  @Override
  public List<Entry> list() throws IOException {
    listed.clear();
    FileStatus[] statuses;
    try {
      statuses = fs.listStatus(folder);
    } catch (FileNotFoundException e) {
      return List.of();
    }
    List<Entry> entries = new ArrayList<>();
    for (FileStatus status : statuses) {
      if (status.isFile()) {
        String name = status.getPath().getName();
        listed.put(name, status);
        entries.add(new Entry(name, Instant.ofEpochMilli(status.getModificationTime())));
      }
    }
    return entries;
  }

  @Override
  public byte[] read(String name) throws IOException {
    Path path = new Path(folder, name);
    FileStatus status = listed.remove(name);
    byte[] mine = written.get(name);
    if (mine != null || status != null) {
      try {
        byte[] bytes = mine != null ? readAll(path, mine.length, null) : readAll(path, -1, status);
        // Only what this store wrote is taken from a read of the length it wrote: a longer file
        // would have been cut short.
        if (mine == null || Arrays.equals(bytes, mine)) {
          return bytes;
        }
      } catch (FileNotFoundException e) {
        return null;
      } catch (IOException changedSince) {
        // Changed since it was listed or written (or shorter than written): read it as it is now.
      }
    }
    try (InputStream in = fs.open(path)) {
      return in.readAllBytes();
    } catch (FileNotFoundException e) {
      return null;
    }
  }

  /** The file's bytes, opened with a known length or a listed status: no HEAD on object stores. */
  private byte[] readAll(Path path, long length, FileStatus status) throws IOException {
    var builder =
        fs.openFile(path)
            .opt(
                OpenFileOptions.FS_OPTION_OPENFILE_READ_POLICY,
                OpenFileOptions.FS_OPTION_OPENFILE_READ_POLICY_WHOLE_FILE);
    if (status != null) {
      builder.withFileStatus(status);
    } else {
      builder.optLong(OpenFileOptions.FS_OPTION_OPENFILE_LENGTH, length);
    }
    try (FSDataInputStream in = FutureIO.awaitFuture(builder.build())) {
      return in.readAllBytes();
    }
  }

  @Override
  public void write(String name, byte[] content) throws IOException {
    Path path = new Path(folder, name);
    if (s3a) {
      put(path, content);
    } else {
      try (OutputStream out = fs.create(path, true)) {
        out.write(content);
      }
    }
    written.put(name, content.clone());
  }

  /** One PUT: S3A's checks of the path skipped (see the class comment). */
  private void put(Path path, byte[] content) throws IOException {
    try (OutputStream out =
        (OutputStream)
            fs.createFile(path)
                .overwrite(true)
                .recursive()
                .opt(HadoopFileIO.S3A_CREATE_PERFORMANCE, true)
                .build()) {
      out.write(content);
    }
  }

  @Override
  public void delete(String name) throws IOException {
    Path path = new Path(folder, name);
    written.remove(name);
    listed.remove(name);
    if (!s3a) {
      fs.delete(path, false);
      return;
    }
    try (BulkDelete bulk = fs.createBulkDelete(folder)) {
      List<Map.Entry<Path, String>> failed = bulk.bulkDelete(List.of(path));
      if (!failed.isEmpty()) {
        throw new IOException("cannot delete " + path + ": " + failed.get(0).getValue());
      }
    }
  }
}
