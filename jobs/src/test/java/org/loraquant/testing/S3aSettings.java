package org.loraquant.testing;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * Hadoop and Spark settings for S3A against a local S3-compatible endpoint (S3Proxy, or a {@link
 * FaultInjectingProxy} in front of it). Production settings live in {@code
 * conf/spark-defaults.conf.s3.example}; these differ only where a test store needs it.
 *
 * <p>S3A file systems are cached per bucket name for the life of the JVM, and a test JVM runs many
 * tests: a later test that reuses a bucket name with another endpoint silently talks to the old
 * one. Use a fresh bucket name per store (see {@link #uniqueBucket(String)}).
 */
public final class S3aSettings {
  /** Small enough that a test writes a multipart upload in a second; S3's minimum part size. */
  public static final long TEST_MULTIPART_SIZE = 5L * 1024 * 1024;

  private S3aSettings() {}

  /**
   * A fresh Hadoop configuration with {@link #hadoop} for S3Proxy's test keys at {@code endpoint}
   * (the store, or a proxy in front of it).
   */
  public static Configuration hadoopConfiguration(URI endpoint) {
    Configuration conf = new Configuration();
    hadoop(endpoint, S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY).forEach(conf::set);
    return conf;
  }

  /** {@code fs.s3a.*} keys, for a Hadoop {@code Configuration}. */
  public static Map<String, String> hadoop(URI endpoint, String accessKey, String secretKey) {
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("fs.s3a.endpoint", endpoint.toString());
    // Local stores have no bucket DNS names; us-east-1 stops the SDK from resolving a region.
    settings.put("fs.s3a.path.style.access", "true");
    settings.put("fs.s3a.connection.ssl.enabled", "false");
    settings.put("fs.s3a.endpoint.region", "us-east-1");
    // Keys in configuration are for tests only; clusters use the default provider chain.
    settings.put(
        "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    settings.put("fs.s3a.access.key", accessKey);
    settings.put("fs.s3a.secret.key", secretKey);
    // Retries: the SDK retries each request a few times, then S3A's own policy retries throttling
    // (503 SlowDown) with back-off. Short intervals keep failure tests fast; the counts are what
    // production uses.
    settings.put("fs.s3a.attempts.maximum", "3");
    settings.put("fs.s3a.retry.limit", "7");
    settings.put("fs.s3a.retry.interval", "100ms");
    settings.put("fs.s3a.retry.throttle.limit", "20");
    settings.put("fs.s3a.retry.throttle.interval", "100ms");
    // S3A raises anything under 15s to 15s (with a warning), so ask for that.
    settings.put("fs.s3a.connection.establish.timeout", "15s");
    settings.put("fs.s3a.connection.timeout", "60s");
    // A test JVM shares two cores with everything else: a small pool is plenty.
    settings.put("fs.s3a.connection.maximum", "32");
    settings.put("fs.s3a.threads.max", "8");
    settings.put("fs.s3a.multipart.size", Long.toString(TEST_MULTIPART_SIZE));
    settings.put("fs.s3a.multipart.threshold", Long.toString(TEST_MULTIPART_SIZE));
    settings.put("fs.s3a.fast.upload.buffer", "bytebuffer");
    // The magic committer: tasks write straight to their final S3 location as pending multipart
    // uploads, the job commit completes them. No rename, which S3 can only emulate by copying.
    settings.put("fs.s3a.committer.name", "magic");
    settings.put("fs.s3a.committer.magic.enabled", "true");
    // A task's pending uploads tracked in memory until its task commit (fewer requests; see
    // conf/spark-defaults.conf.s3.example for why it is set with the rest, never per write).
    settings.put("fs.s3a.committer.magic.track.commits.in.memory.enabled", "true");
    return settings;
  }

  /** {@link #hadoop} as {@code spark.hadoop.*}, plus the Spark side of the magic committer. */
  public static Map<String, String> spark(URI endpoint, String accessKey, String secretKey) {
    Map<String, String> settings = new LinkedHashMap<>();
    hadoop(endpoint, accessKey, secretKey)
        .forEach((key, value) -> settings.put("spark.hadoop." + key, value));
    settings.put(
        "spark.sql.sources.commitProtocolClass",
        "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol");
    settings.put(
        "spark.sql.parquet.output.committer.class",
        "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter");
    return settings;
  }

  /** A bucket name no other store in this JVM has used; S3 names are lowercase, 3-63 chars. */
  public static String uniqueBucket(String prefix) {
    return prefix + "-" + Long.toString(System.nanoTime(), 36);
  }
}
