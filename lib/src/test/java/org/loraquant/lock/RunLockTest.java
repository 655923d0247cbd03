package org.loraquant.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunLockTest {
  private static final Instant T0 = Instant.parse("2026-11-22T01:30:00Z");
  private static final Duration TTL = Duration.ofMinutes(10);

  /** A clock the test moves by hand. */
  private static final class ManualClock extends Clock {
    Instant now = T0;

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  /** Lease files in memory; {@code afterCreate} lets a test play a rival at the worst moment. */
  private static final class MemoryStore implements LeaseStore {
    final Map<String, byte[]> files = new TreeMap<>();
    final Map<String, Instant> modified = new TreeMap<>();
    final ManualClock clock;
    Consumer<String> afterCreate = name -> {};

    MemoryStore(ManualClock clock) {
      this.clock = clock;
    }

    @Override
    public String location() {
      return "mem://out/_loraquant_lock";
    }

    @Override
    public List<Entry> list() {
      List<Entry> entries = new ArrayList<>();
      files.keySet().forEach(name -> entries.add(new Entry(name, modified.get(name))));
      return entries;
    }

    @Override
    public byte[] read(String name) {
      return files.get(name);
    }

    @Override
    public boolean createIfAbsent(String name, byte[] content) {
      if (files.containsKey(name)) {
        return false;
      }
      put(name, content);
      afterCreate.accept(name);
      return true;
    }

    @Override
    public void replace(String name, byte[] content) {
      put(name, content);
    }

    @Override
    public void delete(String name) {
      files.remove(name);
      modified.remove(name);
    }

    void put(String name, byte[] content) {
      files.put(name, content);
      modified.put(name, clock.now);
    }
  }

  private final ManualClock clock = new ManualClock();
  private final MemoryStore store = new MemoryStore(clock);
  private final RunLock lock = new RunLock(store, clock, TTL);

  @Test
  void aSecondRunIsRefusedWithOneLineNamingTheHolder() throws IOException {
    RunLock.Held first = lock.acquire("run-a", "host-a", 101);
    clock.now = T0.plusSeconds(60);
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 202))
        .isInstanceOf(LockHeldException.class)
        .hasMessage(
            "mem://out/_loraquant_lock is locked by run run-a (host host-a, pid 101) since"
                + " 2026-11-22T01:30:00Z, lease expires at 2026-11-22T01:40:00Z: another run is"
                + " writing there; wait for it to finish, or if it was killed, for the lease to"
                + " expire (or delete the lease file once no run is alive)");
    assertThat(store.files).containsOnlyKeys("lease-000000000001.json");
    first.release();
    assertThat(store.files).isEmpty();
    assertThat(lock.acquire("run-b", "host-b", 202).lease().runId()).isEqualTo("run-b");
  }

  @Test
  void aLeaseIsLiveUpToItsExpiryAndTakenOverAfterIt() throws IOException {
    RunLock.Held killed = lock.acquire("run-a", "host-a", 101);
    clock.now = T0.plus(TTL);
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 202))
        .isInstanceOf(LockHeldException.class);

    clock.now = T0.plus(TTL).plusMillis(1);
    RunLock.Held taker = lock.acquire("run-b", "host-b", 202);
    // A new number over the stale one; the stale file is housekeeping once the new one holds.
    assertThat(taker.location()).endsWith("lease-000000000002.json");
    assertThat(store.files).containsOnlyKeys("lease-000000000002.json");

    // The stalled holder wakes up: it learns it lost the lock and cannot delete the new lease.
    assertThatThrownBy(killed::renew)
        .isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("run run-a lost its lock")
        .hasMessageContaining("lease file is gone");
    killed.release();
    assertThat(store.files).containsOnlyKeys("lease-000000000002.json");
  }

  @Test
  void renewingKeepsTheLockPastTheFirstExpiry() throws IOException {
    RunLock.Held held = lock.acquire("run-a", "host-a", 101);
    clock.now = T0.plus(TTL.dividedBy(3));
    held.renew();
    assertThat(held.lease().expiresAt()).isEqualTo(T0.plus(TTL.dividedBy(3)).plus(TTL));
    clock.now = T0.plus(TTL).plusSeconds(1);
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 202))
        .isInstanceOf(LockHeldException.class)
        .hasMessageContaining("lease expires at 2026-11-22T01:43:20Z");
    held.checkOwn();
  }

  @Test
  void aHolderThatMissedItsExpiryMayNoLongerWriteEvenIfNobodyTookOver() throws IOException {
    RunLock.Held held = lock.acquire("run-a", "host-a", 101);
    clock.now = T0.plus(TTL).plusSeconds(1);
    assertThatThrownBy(held::checkOwn)
        .isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("let its lock");
    assertThatThrownBy(held::renew).isInstanceOf(LeaseLostException.class);
  }

  @Test
  void anUnreadableLeaseCountsAsLiveForOneLeaseFromItsModificationTime() throws IOException {
    store.put("lease-000000000007.json", "{\"run_id\": \"half-writ".getBytes(StandardCharsets.UTF_8));
    clock.now = T0.plus(TTL);
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 202))
        .isInstanceOf(LockHeldException.class)
        .hasMessageContaining("unreadable lease file lease-000000000007.json");
    clock.now = T0.plus(TTL).plusSeconds(1);
    assertThat(lock.acquire("run-b", "host-b", 202).location())
        .endsWith("lease-000000000008.json");
  }

  @Test
  void filesThatAreNotLeasesAreIgnored() throws IOException {
    store.put("README", "not a lease".getBytes(StandardCharsets.UTF_8));
    assertThat(lock.acquire("run-a", "host-a", 101).location()).endsWith("lease-000000000001.json");
  }

  @Test
  void aRunThatSeesARivalLeaseAfterCreatingItsOwnStepsBack() throws IOException {
    // Both found the same stale lease; the rival took it over under another number meanwhile.
    lock.acquire("run-old", "host-x", 1);
    clock.now = T0.plus(TTL).plusSeconds(5);
    store.afterCreate =
        name ->
            store.put(
                "lease-000000000003.json",
                Lease.start("run-rival", "host-r", 303, clock.now, TTL).toJson());
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 202))
        .isInstanceOf(LockHeldException.class)
        .hasMessageContaining("run run-rival (host host-r, pid 303)");
    assertThat(store.files).doesNotContainKey("lease-000000000002.json");
  }

  @Test
  void aLeaseFileOverwrittenByAnotherWriterBelongsToThatWriter() throws IOException {
    // A store without create-if-absent: the rival's PUT lands after ours, the last writer wins.
    store.afterCreate =
        name -> store.put(name, Lease.start("run-rival", "host-r", 303, clock.now, TTL).toJson());
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 202))
        .isInstanceOf(LockHeldException.class)
        .hasMessageContaining("run run-rival");
    assertThat(store.files).containsOnlyKeys("lease-000000000001.json");
  }

  @Test
  void leaseJsonRoundTripsAndRefusesHalfAFile() {
    Lease lease = Lease.start("r", "h", 7, T0, TTL);
    assertThat(Lease.parse("f", lease.toJson())).isEqualTo(lease);
    assertThatThrownBy(() -> Lease.parse("f", "{\"run_id\":\"r\"}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("f: not a lease (no string 'host')");
    assertThatThrownBy(() -> Lease.parse("f", new byte[0]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("f: not a lease");
  }

  @Test
  void onALocalDiskExactlyOneOfManyRacingRunsGetsTheLock(@TempDir Path root) throws Exception {
    int runs = 8;
    Path folder = root.resolve(RunLock.FOLDER);
    ExecutorService pool = Executors.newFixedThreadPool(runs);
    try {
      for (int round = 0; round < 20; round++) {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<RunLock.Held>> results = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
          String runId = "run-" + round + "-" + i;
          Callable<RunLock.Held> attempt =
              () -> {
                RunLock local =
                    new RunLock(new LocalLeaseStore(folder), Clock.systemUTC(), TTL);
                start.await();
                try {
                  return local.acquire(runId, "host", 1);
                } catch (LockHeldException refused) {
                  return null;
                }
              };
          results.add(pool.submit(attempt));
        }
        start.countDown();
        List<RunLock.Held> winners = new ArrayList<>();
        for (Future<RunLock.Held> result : results) {
          if (result.get() != null) {
            winners.add(result.get());
          }
        }
        assertThat(winners).as("holders in round %s", round).hasSizeLessThanOrEqualTo(1);
        for (RunLock.Held winner : winners) {
          winner.release();
        }
        try (var files = Files.list(folder)) {
          assertThat(files).as("files left after round %s", round).isEmpty();
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theLocalStoreCreatesOnlyIfAbsentAndReplacesWholeFiles(@TempDir Path root)
      throws IOException {
    LocalLeaseStore local = new LocalLeaseStore(root.resolve("lock"));
    assertThat(local.list()).isEmpty();
    assertThat(local.read("lease-000000000001.json")).isNull();
    assertThat(local.createIfAbsent("lease-000000000001.json", new byte[] {1})).isTrue();
    assertThat(local.createIfAbsent("lease-000000000001.json", new byte[] {2})).isFalse();
    assertThat(local.read("lease-000000000001.json")).containsExactly(1);
    local.replace("lease-000000000001.json", new byte[] {3, 4});
    assertThat(local.read("lease-000000000001.json")).containsExactly(3, 4);
    assertThat(local.list()).extracting(LeaseStore.Entry::name)
        .containsExactly("lease-000000000001.json");
    local.delete("lease-000000000001.json");
    local.delete("lease-000000000001.json");
    assertThat(local.list()).isEmpty();
  }
}
