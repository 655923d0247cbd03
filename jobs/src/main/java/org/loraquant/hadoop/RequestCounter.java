package org.loraquant.hadoop;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the requests of a {@link HadoopFileIO#counting counting view} of the job's storage, e.g.
 * what one stage spends on one adapter. Thread-safe; not serialised (each stage counts its own and
 * ships the {@link #snapshot}).
 */
public final class RequestCounter {
  private final AtomicLong lists = new AtomicLong();
  private final AtomicLong gets = new AtomicLong();
  private final AtomicLong heads = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong bytesRead = new AtomicLong();

  public void list() {
    lists.incrementAndGet();
  }

  public void get(long bytes) {
    gets.incrementAndGet();
    bytesRead.addAndGet(bytes);
  }

  public void head() {
    heads.incrementAndGet();
  }

  public void write() {
    writes.incrementAndGet();
  }

  /** The counts so far. */
  public StorageRequests snapshot() {
    return new StorageRequests(
        lists.get(), gets.get(), heads.get(), writes.get(), bytesRead.get());
  }
}
