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

  /** Lease files in memory; {@code afterWrite} lets a test play a rival at the worst moment. */
  private static final class MemoryStore implements LeaseStore {
    final Map<String, byte[]> files = new TreeMap<>();
    final Map<String, Instant> modified = new TreeMap<>();
    final ManualClock clock;
    Consumer<String> afterWrite = name -> {};

    MemoryStore(ManualClock clock) {
      this.clock = clock;
    }

    @Override
    public String location() {
      return "mem://out/_loraquant_lock";
    }

    @Override
    public synchronized List<Entry> list() {
      List<Entry> entries = new ArrayList<>();
      files.keySet().forEach(name -> entries.add(new Entry(name, modified.get(name))));
      return entries;
    }

    @Override
    public synchronized byte[] read(String name) {
      return files.get(name);
    }

    @Override
    public void write(String name, byte[] content) {
      put(name, content);
      afterWrite.accept(name);
    }

    @Override
    public synchronized void delete(String name) {
      files.remove(name);
      modified.remove(name);
    }

    synchronized void put(String name, byte[] content) {
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
    // The refused run wrote its own lease and deleted it again.
    assertThat(store.files.keySet()).singleElement().asString().startsWith("lease-run-a-");
    first.release();
    assertThat(store.files).isEmpty();
    assertThat(lock.acquire("run-b", "host-b", 202).lease().runId()).isEqualTo("run-b");
  }

  @Test
  void aTakeWhoseListingFailsLeavesNoLeaseBehind() {
    LeaseStore failingList =
        new ForwardingLeaseStore(store) {
          @Override
          public List<Entry> list() throws IOException {
            throw new IOException("listing refused");
          }
        };
    RunLock failing = new RunLock(failingList, clock, TTL);
    assertThatThrownBy(() -> failing.acquire("run-a", "host-a", 101))
        .isInstanceOf(IOException.class)
        .hasMessage("listing refused");
    // Left behind, the lease would have blocked every run for a lease's duration.
    assertThat(store.files).isEmpty();
  }

  @Test
  void aStaleLeaseThatCannotBeDeletedDoesNotFailTheTake() throws IOException {
    lock.acquire("run-a", "host-a", 101); // killed: never released
    clock.now = T0.plus(TTL).plusSeconds(1);
    LeaseStore undeletable =
        new ForwardingLeaseStore(store) {
          @Override
          public void delete(String name) throws IOException {
            if (name.startsWith("lease-run-a-")) {
              throw new IOException("delete refused");
            }
            super.delete(name);
          }
        };
    RunLock.Held second = new RunLock(undeletable, clock, TTL).acquire("run-b", "host-b", 202);
    assertThat(second.lease().runId()).isEqualTo("run-b");
    assertThat(store.files).hasSize(2); // the expired lease stays; it blocks nobody
  }

  @Test
  void aLeaseIsLiveUpToItsExpiryAndTakenOverAfterIt() throws IOException {
    RunLock.Held killed = lock.acquire("run-a", "host-a", 101);
    clock.now = T0.plus(TTL);
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 202))
        .isInstanceOf(LockHeldException.class);

    clock.now = T0.plus(TTL).plusMillis(1);
    RunLock.Held taker = lock.acquire("run-b", "host-b", 202);
    // The stale file is housekeeping once the new one holds.
    assertThat(store.files.keySet()).singleElement().asString().startsWith("lease-run-b-");
    assertThat(taker.location()).endsWith(store.files.keySet().iterator().next());

    // The stalled holder wakes up: it learns it lost the lock and cannot delete the new lease.
    assertThatThrownBy(killed::renew)
        .isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("run run-a lost its lock")
        .hasMessageContaining("lease file is gone");
    killed.release();
    assertThat(store.files.keySet()).singleElement().asString().startsWith("lease-run-b-");
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
    assertThat(lock.acquire("run-b", "host-b", 202).lease().runId()).isEqualTo("run-b");
    assertThat(store.files.keySet()).singleElement().asString().startsWith("lease-run-b-");
  }

  @Test
  void aNumberedLeaseOfThePreviousVersionIsLiveUntilItsExpiryThenCleanedUp() throws IOException {
    store.put("lease-000000000003.json", Lease.start("run-old", "host-o", 9, T0, TTL).toJson());
    clock.now = T0.plus(TTL);
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 202))
        .isInstanceOf(LockHeldException.class)
        .hasMessageContaining("locked by run run-old (host host-o, pid 9)");
    assertThat(store.files).containsOnlyKeys("lease-000000000003.json");
    clock.now = T0.plus(TTL).plusSeconds(1);
    lock.acquire("run-b", "host-b", 202);
    assertThat(store.files.keySet()).singleElement().asString().startsWith("lease-run-b-");
  }

  @Test
  void filesThatAreNotLeasesAreIgnored() throws IOException {
    store.put("README", "not a lease".getBytes(StandardCharsets.UTF_8));
    assertThat(lock.acquire("run-a", "host-a", 101).location()).contains("/lease-run-a-");
    assertThat(store.files).containsKey("README");
  }

  @Test
  void eachRunWritesALeaseFileOfItsOwn() {
    assertThat(RunLock.fileName("20261122T013000Z-3f9a1c2e"))
        .matches("lease-20261122T013000Z-3f9a1c2e-[0-9a-f]{8}\\.json");
    assertThat(RunLock.fileName("nightly/2026 11"))
        .matches("lease-nightly_2026_11-[0-9a-f]{8}\\.json");
    assertThat(RunLock.fileName("r")).isNotEqualTo(RunLock.fileName("r"));
  }

  @Test
  void aRunThatSeesARivalLeaseAfterWritingItsOwnStepsBack() throws IOException {
    // The rival's write landed between this run's write and its listing.
    store.afterWrite =
        name ->
            store.put(
                "lease-run-rival-00000000.json",
                Lease.start("run-rival", "host-r", 303, clock.now, TTL).toJson());
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 202))
        .isInstanceOf(LockHeldException.class)
        .hasMessageContaining("run run-rival (host host-r, pid 303)");
    assertThat(store.files).containsOnlyKeys("lease-run-rival-00000000.json");
  }

  @Test
  void aRunThatStalledPastItsOwnLeaseBeforeListingTriesAgainWithANewFile() throws IOException {
    List<String> written = new ArrayList<>();
    store.afterWrite =
        name -> {
          written.add(name);
          if (written.size() == 1) {
            clock.now = clock.now.plus(TTL).plusSeconds(1);
          }
        };
    RunLock.Held held = lock.acquire("run-a", "host-a", 101);
    assertThat(written).hasSize(2).doesNotHaveDuplicates();
    assertThat(store.files).containsOnlyKeys(written.get(1));
    assertThat(held.lease().expiresAt()).isEqualTo(T0.plus(TTL).plusSeconds(1).plus(TTL));
  }

  /**
   * Two runs take the lock at once, their writes, listings and deletions in every order (the
   * order a store with list-after-write consistency may put them in: S3, HDFS, local disks).
   */
  @Test
  void inEveryInterleavingOfTwoTakersAtMostOneHoldsInMemory() throws Exception {
    for (String order : Interleaving.allOrders()) {
      MemoryStore shared = new MemoryStore(clock);
      checkInterleaving(order, shared, () -> List.copyOf(shared.files.keySet()));
    }
    // Both wrote, then both listed before either stepped back: both step back, nobody holds.
    Interleaving.Outcome both = Interleaving.run("ABABAB", new MemoryStore(clock), clock, TTL);
    assertThat(both.holders()).isEmpty();
    assertThat(both.refused()).containsExactly("run-A", "run-B");
  }

  @Test
  void inEveryInterleavingOfTwoTakersAtMostOneHoldsOnALocalDisk(@TempDir Path root)
      throws Exception {
    for (String order : Interleaving.allOrders()) {
      Path folder = root.resolve(order).resolve(RunLock.FOLDER);
      LocalLeaseStore shared = new LocalLeaseStore(folder);
      checkInterleaving(
          order,
          shared,
          () -> {
            try (var files = Files.list(folder)) {
              return files.map(f -> f.getFileName().toString()).toList();
            }
          });
    }
  }

  /** The names of the files a store holds, read behind the lock's back. */
  interface FileNames {
    java.util.Collection<String> get() throws IOException;
  }

  private void checkInterleaving(String order, LeaseStore shared, FileNames files)
      throws Exception {
    Interleaving.Outcome outcome = Interleaving.run(order, shared, clock, TTL);
    assertThat(outcome.holders()).as("holders in order %s", order).hasSizeLessThanOrEqualTo(1);
    if (order.startsWith("AA") || order.startsWith("BB")) {
      // One run wrote and listed before the other wrote: that one holds.
      assertThat(outcome.holders())
          .as("holders in order %s", order)
          .containsExactly("run-" + order.charAt(0));
    }
    // Only the holder's lease is left; a run that stepped back deleted its own.
    List<String> left = new ArrayList<>(files.get());
    assertThat(left).as("lease files left in order %s", order).hasSize(outcome.holders().size());
    for (String holder : outcome.holders()) {
      assertThat(left.get(0)).startsWith("lease-" + holder + "-");
    }
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
  void theLocalStoreWritesWholeFiles(@TempDir Path root) throws IOException {
    LocalLeaseStore local = new LocalLeaseStore(root.resolve("lock"));
    assertThat(local.list()).isEmpty();
    assertThat(local.read("lease-000000000001.json")).isNull();
    local.write("lease-000000000001.json", new byte[] {1});
    assertThat(local.read("lease-000000000001.json")).containsExactly(1);
    local.write("lease-000000000001.json", new byte[] {3, 4});
    assertThat(local.read("lease-000000000001.json")).containsExactly(3, 4);
    assertThat(local.list()).extracting(LeaseStore.Entry::name)
        .containsExactly("lease-000000000001.json");
    local.delete("lease-000000000001.json");
    local.delete("lease-000000000001.json");
    assertThat(local.list()).isEmpty();
  }
}
