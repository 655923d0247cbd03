package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.lock.LeaseStore;
import org.loraquant.lock.LocalLeaseStore;
import org.loraquant.lock.LockHeldException;
import org.loraquant.lock.RunLock;
import org.loraquant.stats.StatsTables;

/** The run lock and the stats leftovers, in the job (KillAndConcurrencyIT does it with kill -9). */
class RunLocksTest extends SparkTestBase {
  @TempDir Path temp;

  @Test
  void aRunIsRefusedWithExit2AndOneLineWhileAnotherHoldsTheStatsLock() throws Exception {
    Path fleet = temp.resolve("fleet");
    JobFixtures.writeNanAdapter(fleet.resolve("a"));
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    RunLock.Held other =
        new RunLock(
                new LocalLeaseStore(stats.resolve(RunLock.FOLDER)),
                Clock.systemUTC(),
                Duration.ofMinutes(10))
            .acquire("20260301T000000Z-0badc0de", "etl-7", 4242);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    JobOptions options = JobFixtures.options(fleet, out, stats, JobFixtures.DAY_ONE);
    int code =
        RecompressJob.runAndReport(
            spark(),
            options,
            JobFixtures.discard(),
            new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(code).isEqualTo(RecompressJob.EXIT_LOCKED).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8).lines().toList())
        .singleElement()
        .asString()
        .startsWith("recompress: run " + options.runId() + " not started: ")
        .contains("is locked by run 20260301T000000Z-0badc0de (host etl-7, pid 4242) since ")
        .contains("lease expires at " + other.lease().expiresAt());
    // The output's lock was taken first and given back; nothing else was written.
    try (var files = Files.walk(out)) {
      assertThat(files.filter(Files::isRegularFile)).isEmpty();
    }
    assertThat(Files.exists(stats.resolve("adapters"))).isFalse();

    other.release();
    assertThat(RecompressJob.runAndReport(spark(), options, JobFixtures.discard(),
            JobFixtures.discard()))
        .as("the run once the lock is free (the NaN adapter fails)")
        .isEqualTo(RecompressJob.EXIT_FAILED);
    try (var leases = Files.list(out.resolve(RunLock.FOLDER))) {
      assertThat(leases).as("released at the end, also when the run fails").isEmpty();
    }
  }

  /**
   * A store whose writes, reads and deletes each wait until the other root's store has reached
   * its own: taken, checked or released one after the other, the first would wait in vain and
   * fail.
   */
  private static final class Meeting implements LeaseStore {
    private final LeaseStore store;
    private final CyclicBarrier writes;
    private final CyclicBarrier reads;
    private final CyclicBarrier deletes;

    Meeting(LeaseStore store, CyclicBarrier writes, CyclicBarrier reads, CyclicBarrier deletes) {
      this.store = store;
      this.writes = writes;
      this.reads = reads;
      this.deletes = deletes;
    }

    private static void meet(CyclicBarrier barrier) throws IOException {
      try {
        barrier.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
        throw new IOException("the other root's lock call did not come at the same time", e);
      }
    }

    @Override
    public String location() {
      return store.location();
    }

    @Override
    public List<Entry> list() throws IOException {
      return store.list();
    }

    @Override
    public byte[] read(String name) throws IOException {
      meet(reads);
      return store.read(name);
    }

    @Override
    public void write(String name, byte[] content) throws IOException {
      meet(writes);
      store.write(name, content);
    }

    @Override
    public void delete(String name) throws IOException {
      meet(deletes);
      store.delete(name);
    }
  }

  @Test
  void theTwoRootsLocksAreTakenCheckedAndReleasedAtOnce() throws Exception {
    CyclicBarrier writes = new CyclicBarrier(2);
    CyclicBarrier reads = new CyclicBarrier(2);
    CyclicBarrier deletes = new CyclicBarrier(2);
    Path out = temp.resolve("out").resolve(RunLock.FOLDER);
    Path stats = temp.resolve("stats").resolve(RunLock.FOLDER);
    RunLocks locks =
        RunLocks.acquire(
            List.of(
                new Meeting(new LocalLeaseStore(out), writes, reads, deletes),
                new Meeting(new LocalLeaseStore(stats), writes, reads, deletes)),
            "run-a",
            "host-a",
            1,
            Duration.ofMinutes(10));
    locks.checkHeld();
    assertThat(leaseFiles(out)).singleElement().asString().startsWith("lease-run-a-");
    assertThat(leaseFiles(stats)).singleElement().asString().startsWith("lease-run-a-");
    locks.close();
    assertThat(leaseFiles(out)).isEmpty();
    assertThat(leaseFiles(stats)).isEmpty();
  }

  @Test
  void whenOneRootIsLockedTheOtherRootsLockTakenMeanwhileIsReleased() throws Exception {
    Path out = temp.resolve("out").resolve(RunLock.FOLDER);
    Path stats = temp.resolve("stats").resolve(RunLock.FOLDER);
    RunLock.Held other =
        new RunLock(new LocalLeaseStore(stats), Clock.systemUTC(), Duration.ofMinutes(10))
            .acquire("run-other", "etl-7", 4242);
    CyclicBarrier writes = new CyclicBarrier(2);
    assertThatThrownBy(
            () ->
                RunLocks.acquire(
                    List.of(
                        new Meeting(new LocalLeaseStore(out), writes, new CyclicBarrier(1),
                            new CyclicBarrier(1)),
                        new Meeting(new LocalLeaseStore(stats), writes, new CyclicBarrier(1),
                            new CyclicBarrier(1))),
                    "run-a",
                    "host-a",
                    1,
                    Duration.ofMinutes(10)))
        .isInstanceOf(LockHeldException.class)
        .hasMessageContaining("locked by run run-other");
    assertThat(leaseFiles(out)).as("the output's lock, taken meanwhile, given back").isEmpty();
    assertThat(leaseFiles(stats)).singleElement().asString().startsWith("lease-run-other-");
    other.release();
  }

  private static List<String> leaseFiles(Path folder) throws IOException {
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (var files = Files.list(folder)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
    }
  }

  @Test
  void leftoversOfKilledWritesAreRemovedAndNothingElse() throws Exception {
    Path stats = temp.resolve("stats");
    List<String> leftovers =
        List.of(
            "layers/_temporary/0/task_1/run_date=2026-03-01/part-0.parquet",
            "adapters/__magic_job-1234/part-0.parquet.pending",
            "adapters/__magic/x");
    List<String> kept =
        List.of(
            "layers/run_date=2026-03-01/part-0.parquet",
            "layers/_SUCCESS",
            "adapters/run_date=2026-03-01/part-0.parquet");
    for (String file : union(leftovers, kept)) {
      Files.createDirectories(stats.resolve(file).getParent());
      Files.writeString(stats.resolve(file), "x");
    }
    StatsTables tables =
        new StatsTables(spark(), HadoopFileIO.of(spark().sparkContext()), stats.toUri().toString());
    assertThat(tables.removeLeftovers())
        .extracting(p -> p.substring(p.indexOf("/stats/") + "/stats/".length()))
        .containsExactlyInAnyOrder("layers/_temporary", "adapters/__magic_job-1234",
            "adapters/__magic");
    for (String file : kept) {
      assertThat(stats.resolve(file)).exists();
    }
    assertThat(stats.resolve("layers/_temporary")).doesNotExist();
  }

  private static List<String> union(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }
}
