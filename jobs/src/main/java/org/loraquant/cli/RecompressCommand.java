package org.loraquant.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.spark.sql.SparkSession;
import org.loraquant.io.IoErrors;
import org.loraquant.report.NightlyReport;
import org.loraquant.spark.JobOptions;
import org.loraquant.spark.LoraQuantKryoRegistrator;
import org.loraquant.spark.RecompressJob;
import org.loraquant.stats.StatsSchema;
import org.loraquant.options.JobSetting;
import org.loraquant.options.UsageException;

/**
 * {@code recompress --input URI --output URI --stats URI [job flags] [--master URL] [--conf k=v]...
 * [--properties-file FILE]}: the nightly job ({@link RecompressJob}) on a SparkSession built here,
 * local[*] unless {@code --master} says otherwise. Spark settings are taken the way spark-submit
 * takes them: the properties file first, then each {@code --conf} (a later one wins). Values are
 * never printed: they may hold credentials.
 */
final class RecompressCommand implements Command {
  static final String DEFAULT_MASTER = "local[*]";
  static final String SPARK_HADOOP_PREFIX = "spark.hadoop.";

  /** Spark's default pattern plus credential settings (fs.s3a.aws.credentials.provider, ...). */
  static final String REDACTION_REGEX = "(?i)secret|password|token|access[.]?key|credential";

  @Override
  public String name() {
    return "recompress";
  }

  @Override
  public String summary() {
    StringBuilder job = new StringBuilder();
    for (JobSetting s : JobSetting.of(JobSetting.Kind.REQUIRED)) {
      job.append(s.usage()).append(' ');
    }
    job.append("[codec flags]");
    for (JobSetting s : List.of(JobSetting.SETTINGS, JobSetting.FORCE, JobSetting.MAX_FAILED,
        JobSetting.REPORT)) {
      job.append(" [").append(s.usage()).append(']');
    }
    return job + " [--master URL] [--conf K=V]... [--properties-file FILE]"
        + "  the nightly job on local Spark";
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    String master = null;
    String propertiesFile = null;
    List<String> jobArgs = new ArrayList<>();
    List<String> confArgs = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String name =
          arg.contains("=") && arg.startsWith("--") ? arg.substring(0, arg.indexOf('=')) : arg;
      if (!List.of("--master", "--conf", "--properties-file").contains(name)) {
        jobArgs.add(arg);
        continue;
      }
      String value;
      if (!name.equals(arg)) {
        value = arg.substring(name.length() + 1);
      } else if (i + 1 < args.size()) {
        value = args.get(++i);
      } else {
        throw new UsageException(name + " needs a value");
      }
      switch (name) {
        case "--master" -> {
          if (master != null) {
            throw new UsageException("--master given twice");
          }
          master = value;
        }
        case "--properties-file" -> {
          if (propertiesFile != null) {
            throw new UsageException("--properties-file given twice");
          }
          propertiesFile = value;
        }
        default -> confArgs.add(value);
      }
    }
    NightlyReport.Request report = NightlyReport.Request.take(jobArgs);
    JobOptions options = JobOptions.parse(report.jobArgs(), Instant.now());
    Map<String, String> conf = sparkConf(propertiesFile, confArgs);
    if (master == null) {
      master = conf.getOrDefault("spark.master", DEFAULT_MASTER);
    }

    SparkSession.Builder builder =
        SparkSession.builder().appName("loraquant-recompress").master(master);
    if (master.startsWith("local")) {
      // A laptop run: no web UI, nothing listening beyond loopback.
      builder.config("spark.ui.enabled", "false");
      builder.config("spark.driver.host", "127.0.0.1");
      builder.config("spark.driver.bindAddress", "127.0.0.1");
    }
    builder.config("spark.ui.showConsoleProgress", "false");
    builder.config("spark.sql.session.timeZone", "UTC");
    // Spark redacts matching keys (and values) in the UI's environment tab, the event log and the
    // REST API; the default pattern misses credential provider settings. A --conf wins.
    builder.config("spark.redaction.regex", REDACTION_REGEX);
    StatsSchema.PARQUET_SPARK_CONF.forEach(builder::config);
    // Kryo cannot carry the job's records without it; harmless under Java serialisation.
    conf.put(LoraQuantKryoRegistrator.REGISTRATOR_KEY,
        LoraQuantKryoRegistrator.withThisRegistrator(
            conf.get(LoraQuantKryoRegistrator.REGISTRATOR_KEY)));
    conf.forEach(builder::config);
    SparkSession spark = builder.getOrCreate();
    applyHadoopSettings(spark, conf);
    try {
      return NightlyReport.aroundRun(report, options.stats(),
          spark.sparkContext().hadoopConfiguration(), err,
          () -> RecompressJob.runAndReport(spark, options, out, err));
    } finally {
      spark.stop();
    }
  }

  /**
   * The Spark settings as spark-submit would take them: the properties file (may be null), then
   * each {@code --conf KEY=VALUE} in order, a later one replacing an earlier one.
   */
  static Map<String, String> sparkConf(String propertiesFile, List<String> confArgs) {
    Map<String, String> conf = new LinkedHashMap<>();
    if (propertiesFile != null) {
      conf.putAll(loadProperties(propertiesFile));
    }
    for (String entry : confArgs) {
      int eq = entry.indexOf('=');
      if (eq <= 0) {
        // The argument itself is not echoed: it may be a credential.
        throw new UsageException("--conf expects KEY=VALUE; an argument has no '=' or no key");
      }
      conf.put(entry.substring(0, eq).trim(), entry.substring(eq + 1));
    }
    return conf;
  }

  /**
   * Sets the {@code spark.hadoop.*} settings on the session's Hadoop configuration. getOrCreate
   * copies them only into a SparkContext it creates; a context already alive in this JVM (an
   * embedding application, a test suite) would otherwise keep talking to its own endpoint with its
   * own credentials.
   */
  static void applyHadoopSettings(SparkSession spark, Map<String, String> conf) {
    org.apache.hadoop.conf.Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    conf.forEach(
        (key, value) -> {
          if (key.startsWith(SPARK_HADOOP_PREFIX) && key.length() > SPARK_HADOOP_PREFIX.length()) {
            hadoop.set(key.substring(SPARK_HADOOP_PREFIX.length()), value);
          }
        });
  }

  /** spark-defaults format: whitespace- or '='-separated key and value, '#' comments. */
  static Map<String, String> loadProperties(String file) {
    Properties properties = new Properties();
    try (Reader in = Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
      properties.load(in);
    } catch (IOException | IllegalArgumentException e) {
      throw new UsageException(
          "cannot read --properties-file "
              + file
              + ": "
              + (e instanceof IOException io ? IoErrors.reason(io) : e.getMessage()));
    }
    Map<String, String> conf = new LinkedHashMap<>();
    for (String key : properties.stringPropertyNames()) {
      conf.put(key, properties.getProperty(key).trim());
    }
    return conf;
  }
}
