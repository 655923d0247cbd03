package org.loraquant.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.hadoop.conf.Configuration;

/**
 * An S3-compatible store for tests: S3Proxy with its filesystem backend, as a child process on
 * 127.0.0.1.
 *
 * <p>A child process because S3Proxy's Jetty and Jackson clash with Spark's inside one JVM. The
 * data directory and the port survive {@link #stop()}, so a test can take the store away and {@link
 * #restart()} it to see how a job copes with an outage. Use with try-with-resources or from
 * {@code @BeforeAll}/{@code @AfterAll}; {@link #close()} always kills the child and deletes a data
 * directory this class created.
 */
public final class S3ProxyServer implements AutoCloseable {
  /** Test-only credentials; S3Proxy checks them, so signing is exercised for real. */
  public static final String ACCESS_KEY = "loraquant-test-access-key";

  public static final String SECRET_KEY = "loraquant-test-secret-key";

  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);
  private static final DateTimeFormatter RFC_1123 = DateTimeFormatter.RFC_1123_DATE_TIME;

  private final Path s3proxyJar;
  private final Path dataDir;
  private final boolean ownsDataDir;
  private final Path workDir;
  private final int port;
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();
  private ChildProcess process;

  private S3ProxyServer(
      Path s3proxyJar, Path dataDir, boolean ownsDataDir, Path workDir, int port) {
    this.s3proxyJar = s3proxyJar;
    this.dataDir = dataDir;
    this.ownsDataDir = ownsDataDir;
    this.workDir = workDir;
    this.port = port;
  }

  /** Starts a store with its data in a fresh temporary directory, deleted on {@link #close()}. */
  public static S3ProxyServer start() {
    Path dataDir = TempDirs.create("s3proxy-data-");
    return start(dataDir, true);
  }

  /** Starts a store over {@code dataDir} (e.g. a JUnit {@code @TempDir}); the caller owns it. */
  public static S3ProxyServer start(Path dataDir) {
    return start(dataDir, false);
  }

  private static S3ProxyServer start(Path dataDir, boolean ownsDataDir) {
    S3ProxyServer server =
        new S3ProxyServer(
            TestPaths.s3proxyJar(),
            dataDir,
            ownsDataDir,
            TempDirs.create("s3proxy-run-"),
            LoopbackPorts.freePort());
    try {
      server.writeProperties();
      server.launch();
      return server;
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
  }

  /** {@code http://127.0.0.1:PORT}: what S3A's {@code fs.s3a.endpoint} should name. */
  public URI endpoint() {
    return URI.create("http://" + LoopbackPorts.HOST + ":" + port);
  }

  public int port() {
    return port;
  }

  public Path dataDir() {
    return dataDir;
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Hadoop settings that point S3A at this store; see {@link S3aSettings}. */
  public Map<String, String> hadoopSettings() {
    return S3aSettings.hadoop(endpoint(), ACCESS_KEY, SECRET_KEY);
  }

  /** A fresh Hadoop configuration with {@link #hadoopSettings}. */
  public Configuration hadoopConfiguration() {
    return S3aSettings.hadoopConfiguration(endpoint());
  }

  /** Spark settings (S3A and the magic committer) that point a SparkSession at this store. */
  public Map<String, String> sparkSettings() {
    return S3aSettings.spark(endpoint(), ACCESS_KEY, SECRET_KEY);
  }

  /** Creates a bucket through the S3 API (a signed PUT), so it works while the store runs. */
  public void createBucket(String bucket) {
    createBucket(endpoint(), bucket);
  }

  /**
   * Creates a bucket by sending the PUT to {@code via}, e.g. a {@link FaultInjectingProxy} in front
   * of this store.
   */
  public void createBucket(URI via, String bucket) {
    String date = RFC_1123.format(ZonedDateTime.now(ZoneOffset.UTC));
    // AWS signature version 2: small enough to compute here, so no SDK is needed to set up tests.
    String stringToSign = "PUT\n\n\n" + date + "\n/" + bucket;
    HttpRequest request =
        HttpRequest.newBuilder(via.resolve("/" + bucket))
            .timeout(Duration.ofSeconds(30))
            .header("Date", date)
            .header(
                "Authorization",
                "AWS " + ACCESS_KEY + ":" + hmacSha1Base64(SECRET_KEY, stringToSign))
            .PUT(HttpRequest.BodyPublishers.noBody())
            .build();
    HttpResponse<String> response = send(request);
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          "Creating bucket "
              + bucket
              + " failed: HTTP "
              + response.statusCode()
              + " "
              + response.body());
    }
  }

  /** Kills the store; data directory and port are kept for {@link #restart()}. */
  public void stop() {
    if (process != null) {
      process.close();
    }
  }

  /** Starts the store again on the same port over the same data. */
  public void restart() {
    stop();
    launch();
  }

  /** The store's own log, for assertion messages. */
  public String log() {
    return process == null ? "" : process.logText();
  }

  @Override
  public void close() {
    stop();
    TempDirs.delete(workDir);
    if (ownsDataDir) {
      TempDirs.delete(dataDir);
    }
  }

  private void writeProperties() {
    Properties properties = new Properties();
    properties.setProperty("s3proxy.endpoint", endpoint().toString());
    properties.setProperty("s3proxy.authorization", "aws-v2-or-v4");
    properties.setProperty("s3proxy.identity", ACCESS_KEY);
    properties.setProperty("s3proxy.credential", SECRET_KEY);
    properties.setProperty("jclouds.provider", "filesystem");
    properties.setProperty("jclouds.filesystem.basedir", dataDir.toString());
    properties.setProperty("jclouds.identity", "unused");
    properties.setProperty("jclouds.credential", "unused");
    try (Writer out = Files.newBufferedWriter(propertiesFile(), StandardCharsets.UTF_8)) {
      properties.store(out, "S3Proxy for loraquant tests; listens on 127.0.0.1 only");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void launch() {
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx256m",
            "-jar",
            s3proxyJar.toString(),
            "--properties",
            propertiesFile().toString());
    process = ChildProcess.start("s3proxy", command, Map.of(), workDir.resolve("s3proxy.log"));
    awaitReady();
  }

  /**
   * Ready = answers HTTP; an unsigned GET gets 403, which proves Jetty and the S3 handler are up.
   */
  private void awaitReady() {
    long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
    HttpRequest probe =
        HttpRequest.newBuilder(endpoint().resolve("/"))
            .timeout(Duration.ofSeconds(2))
            .GET()
            .build();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "S3Proxy exited during startup; log:\n" + ChildProcess.tail(log()));
      }
      try {
        http.send(probe, HttpResponse.BodyHandlers.discarding());
        return;
      } catch (IOException notYet) {
        Polling.pause(Duration.ofMillis(200));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("Interrupted while waiting for S3Proxy", e);
      }
    }
    throw new IllegalStateException(
        "S3Proxy did not answer on "
            + endpoint()
            + " within "
            + STARTUP_TIMEOUT
            + "; log:\n"
            + ChildProcess.tail(log()));
  }

  private HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Request " + request.method() + " " + request.uri() + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private Path propertiesFile() {
    return workDir.resolve("s3proxy.properties");
  }

  private static String hmacSha1Base64(String key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA1");
      mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
      return Base64.getEncoder().encodeToString(mac.doFinal(data.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA1 is required by every Java platform", e);
    }
  }
}
