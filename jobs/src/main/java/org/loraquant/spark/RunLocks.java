package org.loraquant.spark;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.loraquant.hadoop.AtOnce;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.HadoopLeaseStore;
import org.loraquant.lock.LeaseLostException;
import org.loraquant.lock.LeaseStore;
import org.loraquant.lock.RunLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The run locks one run holds: on its output root and on its stats root (one lock when they are
 * the same), taken together before anything is listed or written, renewed every third of the
 * lease on a daemon thread, released together at the end, also when the run fails. The rules are
 * {@link RunLock}'s.
 */
final class RunLocks implements AutoCloseable {
  // The job's logger: operators follow one logger name for the whole run.
  private static final Logger LOG = LoggerFactory.getLogger(RecompressJob.class);

  private final List<RunLock.Held> held;
  private final ScheduledExecutorService renewal;
  private volatile LeaseLostException lost;

  private RunLocks(List<RunLock.Held> held, Duration lease) {
    this.held = held;
    this.renewal =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "loraquant-lock-renewal");
              thread.setDaemon(true);
              return thread;
            });
    long every = Math.max(1, lease.toMillis() / 3);
    renewal.scheduleWithFixedDelay(this::renewAll, every, every, TimeUnit.MILLISECONDS);
  }

  /**
   * Takes the locks of the run's output and stats roots, both at once (on S3 each take is a PUT and
   * a LIST: taken one after the other, the second would wait for the first).
   *
   * @throws org.loraquant.lock.LockHeldException when another run holds one (the other, if taken,
   *     is released before this returns)
   */
  static RunLocks acquire(HadoopFileIO io, JobOptions options) throws IOException {
    Set<String> roots = new LinkedHashSet<>();
    roots.add(CompressionPhase.qualifiedRoot(io, options.output()));
    roots.add(CompressionPhase.qualifiedRoot(io, options.stats()));
    List<LeaseStore> stores = new ArrayList<>();
    for (String root : roots) {
      stores.add(HadoopLeaseStore.under(io, root));
    }
    return acquire(
        stores,
        options.runId(),
        hostName(),
        ProcessHandle.current().pid(),
        Duration.ofSeconds(options.lockLeaseSeconds()));
  }

  /**
   * Takes one lock in each store, all at once, and waits for every take to end: either all are
   * held, or none is (those taken are released) and the failure of the first store in the list
   * that failed is thrown, the others' added to it as suppressed.
   */
  static RunLocks acquire(
      List<LeaseStore> stores, String runId, String host, long pid, Duration lease)
      throws IOException {
    List<AtOnce.Outcome<RunLock.Held>> taken =
        AtOnce.call(
            stores,
            store -> new RunLock(store, Clock.systemUTC(), lease).acquire(runId, host, pid));
    List<RunLock.Held> held = new ArrayList<>();
    for (AtOnce.Outcome<RunLock.Held> outcome : taken) {
      if (outcome.failure() == null) {
        held.add(outcome.value());
      }
    }
    if (held.size() < stores.size()) {
      releaseQuietly(held, runId);
      AtOnce.throwFirstFailure(taken);
    }
    for (RunLock.Held h : held) {
      LOG.info("run {}: holds the lock {} until {}", runId, h.location(), h.lease().expiresAt());
    }
    return new RunLocks(held, lease);
  }

  /**
   * Checks, before anything that must not be written twice (the stats), that every lock is still
   * this run's.
   *
   * @throws LeaseLostException when one was lost (the run stalled past its lease)
   */
  void checkHeld() throws IOException {
    LeaseLostException e = lost;
    if (e != null) {
      throw e;
    }
    // All at once: on S3 one GET each.
    AtOnce.throwFirstFailure(
        AtOnce.call(
            held,
            h -> {
              h.checkOwn();
              return null;
            }));
  }

  private void renewAll() {
    for (RunLock.Held h : held) {
      try {
        h.renew();
      } catch (LeaseLostException e) {
        lost = e;
        LOG.error(e.getMessage());
      } catch (IOException | RuntimeException e) {
        // The next renewal retries; the lease still has two thirds of its time.
        LOG.warn("cannot renew the lock {}: {}", h.location(), e.toString());
      }
    }
  }

  @Override
  public void close() {
    renewal.shutdownNow();
    try {
      renewal.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    releaseQuietly(held, held.isEmpty() ? "" : held.get(0).lease().runId());
  }

  /** Releases the locks, all at once (on S3 one DELETE each). */
  private static void releaseQuietly(List<RunLock.Held> held, String runId) {
    List<AtOnce.Outcome<Void>> released =
        AtOnce.call(
            held,
            h -> {
              h.release();
              return null;
            });
    for (int i = 0; i < held.size(); i++) {
      Exception e = released.get(i).failure();
      if (e != null) {
        // Harmless: the lease expires by itself; until then the next run is told who holds it.
        LOG.warn("run {}: cannot release the lock {}: {}", runId, held.get(i).location(),
            e.toString());
      }
    }
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      String fromEnvironment = System.getenv("HOSTNAME");
      return fromEnvironment != null ? fromEnvironment : "unknown-host";
    }
  }
}
