package org.loraquant.lock;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * The folder of lease files a {@link RunLock} lives in. Implementations: {@link LocalLeaseStore}
 * (local disks), the Hadoop one in jobs/ (HDFS, S3A), an in-memory one in the tests.
 *
 * <p>What the protocol needs from the store: {@link #createIfAbsent} creates a file only when no
 * file of that name exists, in one step where the store can (local disks, HDFS); and a listing
 * that shows every file created before it started (true of local disks, HDFS and, since 2020, S3).
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
   * Creates {@code name} with {@code content} unless a file of that name exists.
   *
   * @return false when the file already existed (nothing written)
   */
  boolean createIfAbsent(String name, byte[] content) throws IOException;

  /** Replaces the content of an existing file (renewal of one's own lease). */
  void replace(String name, byte[] content) throws IOException;

  /** Deletes the file; no error when it is already gone. */
  void delete(String name) throws IOException;
}
