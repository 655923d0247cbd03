package org.loraquant.lock;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * The folder of lease files a {@link RunLock} lives in. Implementations: {@link LocalLeaseStore}
 * (local disks), the Hadoop one in jobs/ (HDFS, S3A), an in-memory one in the tests.
 *
 * <p>What the protocol needs from the store: a listing that shows every file whose {@link #write}
 * finished before the listing started (true of local disks, HDFS and, since 2020, S3). Nothing
 * conditional: each run writes only files of its own.
 */
public interface LeaseStore {
  /** A lease file as listed: its name and when the store last wrote it. */
  record Entry(String name, Instant modified) {}

  /** Where the lease files live, for messages. */
  String location();

  /** The files in the folder; empty when the folder does not exist. */
  List<Entry> list() throws IOException;

  /** The file's bytes, or null when it does not exist (any more). */
  byte[] read(String name) throws IOException;

  /**
   * Writes {@code name} with {@code content}, creating it or replacing what it held (a renewal
   * of one's own lease). When it returns, listings show the file.
   */
  void write(String name, byte[] content) throws IOException;

  /** Deletes the file; no error when it is already gone. */
  void delete(String name) throws IOException;
}
