package org.loraquant.hadoop;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.loraquant.lock.LeaseStore;
import org.loraquant.lock.LocalLeaseStore;

/**
 * Lease files of the run lock ({@link org.loraquant.lock.RunLock}) on a Hadoop file system.
 *
 * <p>Create-if-absent is {@code FileSystem.create(path, overwrite = false)}: one atomic namenode
 * operation on HDFS. S3A in Hadoop 3.4.1 checks for the object and then PUTs it, two requests:
 * two runs starting within one round trip of each other could both write the same lease file, the
 * last PUT wins, and the lock's re-check (it reads the file back) makes the other step back. Local
 * disks go through {@link LocalLeaseStore} (Hadoop's local create is not exclusive).
 */
public final class HadoopLeaseStore implements LeaseStore {
  private final FileSystem fs;
  private final Path folder;

  private HadoopLeaseStore(FileSystem fs, Path folder) {
    this.fs = fs;
    this.folder = folder;
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
    FileStatus[] statuses;
    try {
      statuses = fs.listStatus(folder);
    } catch (FileNotFoundException e) {
      return List.of();
    }
    List<Entry> entries = new ArrayList<>();
    for (FileStatus status : statuses) {
      if (status.isFile()) {
        entries.add(
            new Entry(
                status.getPath().getName(), Instant.ofEpochMilli(status.getModificationTime())));
      }
    }
    return entries;
  }

  @Override
  public byte[] read(String name) throws IOException {
    try (InputStream in = fs.open(new Path(folder, name))) {
      return in.readAllBytes();
    } catch (FileNotFoundException e) {
      return null;
    }
  }

  @Override
  public boolean createIfAbsent(String name, byte[] content) throws IOException {
    try (OutputStream out = fs.create(new Path(folder, name), false)) {
      out.write(content);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    }
  }

  @Override
  public void replace(String name, byte[] content) throws IOException {
    try (OutputStream out = fs.create(new Path(folder, name), true)) {
      out.write(content);
    }
  }

  @Override
  public void delete(String name) throws IOException {
    fs.delete(new Path(folder, name), false);
  }
}
