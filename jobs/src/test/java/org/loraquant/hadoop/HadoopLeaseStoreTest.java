package org.loraquant.hadoop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.lock.Interleaving;
import org.loraquant.lock.Lease;
import org.loraquant.lock.LeaseLostException;
import org.loraquant.lock.LeaseStore;
import org.loraquant.lock.LocalLeaseStore;
import org.loraquant.lock.LockHeldException;
import org.loraquant.lock.RunLock;
import org.loraquant.testing.FaultInjectingProxy;
import org.loraquant.testing.S3ProxyServer;
import org.loraquant.testing.S3aSettings;

/** The run lock's lease files through S3A (against S3Proxy), and local roots through NIO. */
class HadoopLeaseStoreTest {
  private static S3ProxyServer s3;

  @BeforeAll
  static void startStore() {
    s3 = S3ProxyServer.start();
  }

  @AfterAll
  static void stopStore() {
    if (s3 != null) {
      s3.close();
    }
  }

  private static HadoopFileIO io() {
    return new HadoopFileIO(s3.hadoopConfiguration());
  }

  @Test
  void leaseFilesOnS3() throws IOException {
    String bucket = S3aSettings.uniqueBucket("lock");
    s3.createBucket(bucket);
    LeaseStore store = HadoopLeaseStore.under(io(), "s3a://" + bucket + "/out/");
    assertThat(store).isInstanceOf(HadoopLeaseStore.class);
    assertThat(store.location()).isEqualTo("s3a://" + bucket + "/out/" + RunLock.FOLDER);
    assertThat(store.list()).isEmpty();
    assertThat(store.read("lease-000000000001.json")).isNull();
    store.write("lease-000000000001.json", new byte[] {1});
    assertThat(store.read("lease-000000000001.json")).containsExactly(1);
    store.write("lease-000000000001.json", new byte[] {3});
    assertThat(store.read("lease-000000000001.json")).containsExactly(3);
    assertThat(store.list())
        .extracting(LeaseStore.Entry::name)
        .containsExactly("lease-000000000001.json");
    store.delete("lease-000000000001.json");
    store.delete("lease-000000000001.json");
    assertThat(store.list()).isEmpty();
  }

  @Test
  void theRunLockOnS3() throws IOException {
    String bucket = S3aSettings.uniqueBucket("lock");
    s3.createBucket(bucket);
    String root = "s3a://" + bucket + "/stats";
    RunLock lock =
        new RunLock(HadoopLeaseStore.under(io(), root), Clock.systemUTC(), Duration.ofMinutes(5));
    RunLock.Held first = lock.acquire("run-a", "host-a", 1);
    assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 2))
        .isInstanceOf(LockHeldException.class)
        .hasMessageStartingWith(root + "/" + RunLock.FOLDER + " is locked by run run-a (host host-a");
    first.renew();
    first.checkOwn();
    first.release();
    RunLock.Held second = lock.acquire("run-b", "host-b", 2);
    assertThat(second.location()).contains("/" + RunLock.FOLDER + "/lease-run-b-");
    second.release();
    assertThat(HadoopLeaseStore.under(io(), root).list()).isEmpty();
  }

  /**
   * Two runs racing for the lock on S3, their PUTs, LISTs and DELETEs in every order: never both
   * hold it, and only the holder's lease is left (S3 lists every object PUT before the LIST).
   */
  @Test
  void inEveryInterleavingOfTwoTakersOnS3AtMostOneHolds() throws Exception {
    String bucket = S3aSettings.uniqueBucket("lockrace");
    s3.createBucket(bucket);
    for (String order : Interleaving.allOrders()) {
      String root = "s3a://" + bucket + "/" + order;
      Interleaving.Outcome outcome =
          Interleaving.run(
              order, HadoopLeaseStore.under(io(), root), Clock.systemUTC(), Duration.ofMinutes(5));
      assertThat(outcome.holders()).as("holders in order %s", order).hasSizeLessThanOrEqualTo(1);
      if (order.startsWith("AA") || order.startsWith("BB")) {
        assertThat(outcome.holders()).as("holders in order %s", order)
            .containsExactly("run-" + order.charAt(0));
      }
      List<LeaseStore.Entry> left = HadoopLeaseStore.under(io(), root).list();
      assertThat(left).as("leases left in order %s", order).hasSize(outcome.holders().size());
      for (String holder : outcome.holders()) {
        assertThat(left.get(0).name()).startsWith("lease-" + holder + "-");
      }
    }
  }

  /**
   * What the lock costs on S3 (issue 17): taking it is the PUT of the run's own lease (no HEAD or
   * LIST before it) and one LIST of the folder (no GET: nothing else is there); checking it is
   * one GET (its length known: no HEAD); giving it back is one DELETE (no read first: the file's
   * name is the run's alone; no HEAD before, no LIST and folder-marker PUT after). The
   * check-then-PUT lock took 7 and 2; Hadoop 3.4.1's plain calls took 9 and 6.
   */
  @Test
  void theLockTakesAPutAndAListItsCheckOneGetAndItsReleaseOneDelete() throws IOException {
    try (FaultInjectingProxy proxy = FaultInjectingProxy.start(s3.endpoint())) {
      String bucket = S3aSettings.uniqueBucket("lockrequests");
      s3.createBucket(bucket);
      LeaseStore store = HadoopLeaseStore.under(
          new HadoopFileIO(S3aSettings.hadoopConfiguration(proxy.endpoint())),
          "s3a://" + bucket + "/stats");
      RunLock lock = new RunLock(store, Clock.systemUTC(), Duration.ofMinutes(5));
      proxy.resetCounts();

      RunLock.Held held = lock.acquire("run-a", "host-a", 1);
      assertThat(kinds(proxy))
          .as("requests to take the lock: %s", proxy.requestLines())
          .containsExactly("PUT", "LIST");
      proxy.resetCounts();
      held.checkOwn();
      assertThat(kinds(proxy)).as("requests to check it: %s", proxy.requestLines())
          .containsExactly("GET");
      proxy.resetCounts();
      held.release();
      assertThat(kinds(proxy)).as("requests to release it: %s", proxy.requestLines())
          .containsExactly("DELETE");
      assertThat(store.list()).isEmpty();

      // Refused: the PUT, the LIST, one GET of the holder's lease, the DELETE of its own.
      RunLock.Held holder = lock.acquire("run-a", "host-a", 1);
      proxy.resetCounts();
      assertThatThrownBy(() -> lock.acquire("run-b", "host-b", 2))
          .isInstanceOf(LockHeldException.class);
      assertThat(kinds(proxy)).as("requests of a refused run: %s", proxy.requestLines())
          .containsExactly("PUT", "LIST", "GET", "DELETE");
      holder.release();
    }
  }

  /** Each request the proxy saw as LIST (a bucket listing) or its HTTP method. */
  private static List<String> kinds(FaultInjectingProxy proxy) {
    return proxy.requestLines().stream()
        .map(line -> line.startsWith("GET ") && line.contains("list-type=") ? "LIST"
            : line.substring(0, line.indexOf(' ')))
        .toList();
  }

  /**
   * The holder reads its lease back by the length it wrote, but takes only its own bytes from that
   * read: a lease another writer put in its place (by hand: no run writes another's file) is read
   * in full, and the loss is seen.
   */
  @Test
  void aLeaseReplacedBehindTheHoldersBackIsLostNotConfirmedByTheShortRead() throws IOException {
    String bucket = S3aSettings.uniqueBucket("lock");
    s3.createBucket(bucket);
    String root = "s3a://" + bucket + "/out";
    RunLock.Held held =
        new RunLock(HadoopLeaseStore.under(io(), root), Clock.systemUTC(), Duration.ofMinutes(5))
            .acquire("run-a", "host-a", 1);
    String file = held.location().substring(held.location().lastIndexOf('/') + 1);
    LeaseStore other = HadoopLeaseStore.under(io(), root);
    for (String host : List.of("host-b", "a-much-longer-host-name-than-the-holders")) {
      byte[] theirs =
          Lease.start("run-b", host, 2, Instant.now(), Duration.ofMinutes(5)).toJson();
      other.write(file, theirs);
      assertThatThrownBy(held::checkOwn)
          .isInstanceOf(LeaseLostException.class)
          .hasMessageContaining("lost its lock")
          .hasMessageContaining("run run-b (host " + host);
    }
    assertThat(new String(other.read(file), StandardCharsets.UTF_8)).contains("\"run-b\"");
  }

  /** A lease read with its listed status (no HEAD) after it changed is read as it is now. */
  @Test
  void aLeaseChangedSinceTheListingIsReadAsItIsNow() throws IOException {
    String bucket = S3aSettings.uniqueBucket("lock");
    s3.createBucket(bucket);
    String root = "s3a://" + bucket + "/out";
    LeaseStore reader = HadoopLeaseStore.under(io(), root);
    LeaseStore holder = HadoopLeaseStore.under(io(), root);
    holder.write("lease-000000000001.json", new byte[] {1, 2});
    assertThat(reader.list()).extracting(LeaseStore.Entry::name)
        .containsExactly("lease-000000000001.json");
    holder.write("lease-000000000001.json", new byte[] {3, 4, 5, 6});
    assertThat(reader.read("lease-000000000001.json")).containsExactly(3, 4, 5, 6);
  }

  @Test
  void localRootsUseTheLocalStore(@TempDir Path temp) throws IOException {
    assertThat(HadoopLeaseStore.under(io(), temp.toUri().toString()))
        .isInstanceOf(LocalLeaseStore.class)
        .extracting(LeaseStore::location)
        .isEqualTo(temp.resolve(RunLock.FOLDER).toString());
  }
}
