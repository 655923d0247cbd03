package org.loraquant.spark;

import java.util.Locale;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress of a run, counted by executors in accumulators and logged by a daemon thread on the
 * driver every {@link #INTERVAL_MILLIS}. Accumulators reach the driver as tasks finish, so the
 * figures move in steps of a task; a retried task counts twice (they are progress, not stats).
 */
final class JobProgress implements AutoCloseable {
  static final long INTERVAL_MILLIS = 10_000;
  private static final Logger LOG = LoggerFactory.getLogger(JobProgress.class);

  final LongAccumulator layersDone;
  final LongAccumulator bytesDone;
  final LongAccumulator adaptersDone;
  private final Thread reporter;
  private volatile long totalAdapters;
  private volatile long totalBytes;
  private final long startNanos = System.nanoTime();

  JobProgress(SparkContext sc) {
    layersDone = sc.longAccumulator("loraquant.layers");
    bytesDone = sc.longAccumulator("loraquant.bytes");
    adaptersDone = sc.longAccumulator("loraquant.adapters");
    reporter = new Thread(this::report, "loraquant-progress");
    reporter.setDaemon(true);
  }

  /** Starts reporting once the work is known. */
  void start(long adapters, long bytes) {
    totalAdapters = adapters;
    totalBytes = bytes;
    reporter.start();
  }

  private void report() {
    try {
      while (true) {
        Thread.sleep(INTERVAL_MILLIS);
        LOG.info(line());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  String line() {
    double seconds = Math.max((System.nanoTime() - startNanos) / 1e9, 1e-9);
    double mb = bytesDone.value() / 1e6;
    return String.format(
        Locale.ROOT,
        "progress: %d/%d adapters, %d layers, %.0f/%.0f MB, %.1f MB/s",
        adaptersDone.value(),
        totalAdapters,
        layersDone.value(),
        mb,
        totalBytes / 1e6,
        mb / seconds);
  }

  @Override
  public void close() {
    reporter.interrupt();
  }
}
