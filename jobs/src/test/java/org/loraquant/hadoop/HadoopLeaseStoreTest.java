package org.loraquant.hadoop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.lock.LeaseStore;
import org.loraquant.lock.LocalLeaseStore;
import org.loraquant.lock.LockHeldException;
import org.loraquant.lock.RunLock;
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
    Configuration conf = new Configuration();
    s3.hadoopSettings().forEach(conf::set);
    return new HadoopFileIO(conf);
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
    assertThat(store.createIfAbsent("lease-000000000001.json", new byte[] {1})).isTrue();
    assertThat(store.createIfAbsent("lease-000000000001.json", new byte[] {2})).isFalse();
    store.replace("lease-000000000001.json", new byte[] {3});
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
    assertThat(second.location()).endsWith("/lease-000000000001.json");
    second.release();
  }

  @Test
  void localRootsUseTheLocalStore(@TempDir Path temp) throws IOException {
    assertThat(HadoopLeaseStore.under(io(), temp.toUri().toString()))
        .isInstanceOf(LocalLeaseStore.class)
        .extracting(LeaseStore::location)
        .isEqualTo(temp.resolve(RunLock.FOLDER).toString());
  }
}
