package org.loraquant.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** S3A against S3Proxy: listing, multipart writes, rename, throttling, and a store restart. */
class S3ProxyHarnessTest {
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

  @Test
  void awsSdkV2BundleComesWithHadoopAws() throws ClassNotFoundException {
    Class<?> sdkClient = Class.forName("software.amazon.awssdk.services.s3.S3Client");
    Class<?> s3a = Class.forName("org.apache.hadoop.fs.s3a.S3AFileSystem");

    assertThat(sdkClient.getProtectionDomain().getCodeSource().getLocation().getPath())
        .contains("/software/amazon/awssdk/bundle/");
    assertThat(s3a.getProtectionDomain().getCodeSource().getLocation().getPath())
        .contains("hadoop-aws-3.4.1");
  }

  @Test
  void listsWritesMultipartAndRenames() throws IOException {
    String bucket = S3aSettings.uniqueBucket("listing");
    s3.createBucket(bucket);
    try (FileSystem fs = fileSystem(bucket, s3.hadoopSettings())) {
      Path big = new Path("s3a://" + bucket + "/in/big.bin");
      byte[] payload = randomBytes(2 * (int) S3aSettings.TEST_MULTIPART_SIZE + 123);
      long uploadsBefore = fs.getStorageStatistics().getLong("object_multipart_initiated");
      write(fs, big, payload);
      write(
          fs,
          new Path("s3a://" + bucket + "/in/sub/small.txt"),
          "hello".getBytes(StandardCharsets.UTF_8));

      assertThat(fs.getStorageStatistics().getLong("object_multipart_initiated"))
          .isGreaterThan(uploadsBefore);
      assertThat(fs.getFileStatus(big).getLen()).isEqualTo(payload.length);
      assertThat(read(fs, big)).isEqualTo(payload);
      assertThat(names(fs.listStatus(new Path("s3a://" + bucket + "/in"))))
          .containsExactlyInAnyOrder("big.bin", "sub");
      assertThat(recursiveFileNames(fs, new Path("s3a://" + bucket + "/")))
          .containsExactlyInAnyOrder("big.bin", "small.txt");

      Path renamed = new Path("s3a://" + bucket + "/out/renamed.bin");
      assertThat(fs.rename(big, renamed)).isTrue();
      assertThat(fs.exists(big)).isFalse();
      assertThat(read(fs, renamed)).isEqualTo(payload);
    }
  }

  @Test
  void readsSurviveThrottlingThanksToRetries() throws IOException {
    String bucket = S3aSettings.uniqueBucket("throttled");
    s3.createBucket(bucket);
    try (FaultInjectingProxy flaky = FaultInjectingProxy.start(s3.endpoint());
        FileSystem fs =
            fileSystem(
                bucket,
                S3aSettings.hadoop(
                    flaky.endpoint(), S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY))) {
      Path file = new Path("s3a://" + bucket + "/data.bin");
      byte[] payload = randomBytes(100_000);
      write(fs, file, payload);

      flaky.failNextRequests(3);
      assertThat(read(fs, file)).isEqualTo(payload);
      assertThat(flaky.injectedFailureCount()).isEqualTo(3);

      flaky.failFor(Duration.ofSeconds(2));
      assertThat(read(fs, file)).isEqualTo(payload);
      assertThat(flaky.injectedFailureCount()).isGreaterThan(3);
    }
  }

  @Test
  void dataSurvivesAStoreRestartOnTheSamePort() throws IOException {
    String bucket = S3aSettings.uniqueBucket("restart");
    s3.createBucket(bucket);
    URI endpointBefore = s3.endpoint();
    Path file = new Path("s3a://" + bucket + "/kept.txt");
    byte[] payload = "still here".getBytes(StandardCharsets.UTF_8);
    try (FileSystem fs = fileSystem(bucket, s3.hadoopSettings())) {
      write(fs, file, payload);
    }

    s3.stop();
    assertThat(s3.isRunning()).isFalse();
    assertThat(LoopbackPorts.isListening(s3.port())).isFalse();
    s3.restart();

    assertThat(s3.endpoint()).isEqualTo(endpointBefore);
    try (FileSystem fs = fileSystem(bucket, s3.hadoopSettings())) {
      assertThat(read(fs, file)).isEqualTo(payload);
    }
  }

  /** A new, uncached file system: each test owns its instance and closes it. */
  static FileSystem fileSystem(String bucket, Map<String, String> settings) throws IOException {
    Configuration conf = new Configuration();
    settings.forEach(conf::set);
    return FileSystem.newInstance(URI.create("s3a://" + bucket + "/"), conf);
  }

  private static void write(FileSystem fs, Path path, byte[] bytes) throws IOException {
    try (OutputStream out = fs.create(path, true)) {
      out.write(bytes);
    }
  }

  private static byte[] read(FileSystem fs, Path path) throws IOException {
    try (InputStream in = fs.open(path)) {
      return in.readAllBytes();
    }
  }

  private static byte[] randomBytes(int length) {
    byte[] bytes = new byte[length];
    new Random(42).nextBytes(bytes);
    return bytes;
  }

  private static List<String> names(FileStatus[] statuses) {
    List<String> names = new ArrayList<>();
    for (FileStatus status : statuses) {
      names.add(status.getPath().getName());
    }
    return names;
  }

  private static List<String> recursiveFileNames(FileSystem fs, Path root) throws IOException {
    List<String> names = new ArrayList<>();
    RemoteIterator<LocatedFileStatus> files = fs.listFiles(root, true);
    while (files.hasNext()) {
      names.add(files.next().getPath().getName());
    }
    return names;
  }
}
