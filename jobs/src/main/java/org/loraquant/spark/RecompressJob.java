package org.loraquant.spark;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.loraquant.hadoop.AdapterDiscovery;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.lock.LockHeldException;
import org.loraquant.options.UsageException;
import org.loraquant.plan.LayerPlanner;
import org.loraquant.report.NightlyReport;
import org.loraquant.spark.stage.AssembleStage;
import org.loraquant.spark.stage.LayerStage;
import org.loraquant.spark.stage.OpenStage;
import org.loraquant.stats.StatsTables;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nightly recompression job: compresses every adapter under {@code --input} into the same
 * relative path under {@code --output} and appends the run's statistics to the tables under {@code
 * --stats} (docs/STATS.md). For {@code spark-submit --class org.loraquant.spark.RecompressJob};
 * {@code bin/loraquant recompress} runs it on local Spark.
 *
 * <p>The run, driver and executors, in two phases: {@link CompressionPhase} (steps 1 to 4) and
 * {@link StatsPhase} (step 5); {@link RunSummary} sums them up.
 *
 * <ol>
 *   <li>driver: one listing of the input ({@link AdapterDiscovery}) and one of the output ({@link
 *       OutputDiscovery}); executors read the existing outputs' manifests; the driver skips the
 *       adapters whose output matches input fingerprint and settings
 *   <li>executors open the other adapters (header only) and list their layers ({@link OpenStage})
 *   <li>the driver bin-packs the layers into byte-balanced tasks ({@link LayerPlanner}); one Spark
 *       task per planned task compresses them ({@link LayerStage})
 *   <li>a shuffle gathers each adapter's layers; its output is assembled and written once, with its
 *       stats sidecar as the manifest ({@link AssembleStage})
 *   <li>the driver reconciles stats a killed run never wrote from the sidecars, then appends this
 *       run's rows ({@link StatsTables})
 * </ol>
 *
 * <p>The whole run holds the run locks of its output and stats roots ({@link RunLocks}).
 *
 * <p>Exit codes: 0 done, 1 more than {@code --max-failed} adapters failed or the run itself failed
 * (storage, Spark), 2 bad command line or settings file, output / stats folders that would write
 * into the input (found once the input is listed, before anything is written), or another run
 * holds a lock.
 */
public final class RecompressJob {
  public static final int EXIT_OK = 0;
  public static final int EXIT_FAILED = 1;
  public static final int EXIT_USAGE = 2;
  /** Another run holds the lock on the output or stats root (same code as a usage error). */
  public static final int EXIT_LOCKED = 2;

  private static final Logger LOG = LoggerFactory.getLogger(RecompressJob.class);

  private RecompressJob() {}

  /** spark-submit entry point: uses the session spark-submit configured (never sets a master). */
  public static void main(String[] args) {
    JobOptions options;
    NightlyReport.Request report;
    try {
      report = NightlyReport.Request.take(List.of(args));
      options = JobOptions.parse(report.jobArgs(), Instant.now());
    } catch (UsageException e) {
      System.err.println(usageLine(e));
      System.exit(EXIT_USAGE);
      return;
    }
    // new SparkConf() reads what spark-submit set; Kryo needs our registrator (see its javadoc).
    String registrators = LoraQuantKryoRegistrator.withThisRegistrator(
        new SparkConf().get(LoraQuantKryoRegistrator.REGISTRATOR_KEY, ""));
    SparkSession spark = SparkSession.builder().appName("loraquant-recompress")
        .config(LoraQuantKryoRegistrator.REGISTRATOR_KEY, registrators)
        .getOrCreate();
    int code;
    try {
      code = NightlyReport.aroundRun(report, options.stats(),
          spark.sparkContext().hadoopConfiguration(), System.err,
          () -> runAndReport(spark, options, System.out, System.err));
    } finally {
      spark.stop();
    }
    System.exit(code);
  }

  /** The one line printed for a usage error. */
  public static String usageLine(UsageException e) {
    return "recompress: " + e.getMessage() + " (usage: " + JobOptions.USAGE + ")";
  }

  /**
   * Runs the job and turns its outcome into an exit code; a failed run is reported on {@code err}
   * in one line (and logged with its stack trace).
   */
  public static int runAndReport(
      SparkSession spark, JobOptions options, PrintStream out, PrintStream err) {
    try {
      return run(spark, options, out).exitCode();
    } catch (LockHeldException e) {
      LOG.warn("run {} not started: {}", options.runId(), e.getMessage());
      err.println("recompress: run " + options.runId() + " not started: " + e.getMessage());
      return EXIT_LOCKED;
    } catch (UsageException e) {
      // Folders that contradict each other (the output inside an input adapter, say): found once
      // the input is listed, refused before anything is written, like a bad flag.
      err.println("recompress: " + e.getMessage());
      return EXIT_USAGE;
    } catch (Exception e) {
      // Exception, not just IOException | RuntimeException: a failed Spark job surfaces as the
      // checked SparkException, undeclared, through collect(). Its message carries the driver's
      // stack trace over many lines; the console gets the first, the log all of it.
      LOG.error("run {} failed", options.runId(), e);
      err.println("recompress: run " + options.runId() + " failed: " + firstLine(e.toString()));
      return EXIT_FAILED;
    }
  }

  private static String firstLine(String text) {
    int newline = text.indexOf('\n');
    return newline < 0 ? text : text.substring(0, newline);
  }

  /**
   * A full run under the run locks of the output and stats roots: outputs, then stats, then the
   * summary on {@code out}.
   *
   * @throws LockHeldException when another run holds a lock (nothing was read or written)
   */
  public static RunSummary run(SparkSession spark, JobOptions options, PrintStream out)
      throws IOException {
    long start = System.nanoTime();
    ProcessedRun processed;
    int reconciled;
    HadoopFileIO io = HadoopFileIO.of(spark.sparkContext());
    // Refuse folders that contradict each other before the lock creates anything under them.
    CompressionPhase.excludeJobFolders(io, options, List.of());
    CompressionPhase.refuseRootsInsideInputAdapters(io, options);
    try (RunLocks locks = RunLocks.acquire(io, options)) {
      KillPoints.reached(KillPoints.BEFORE_OUTPUTS);
      processed = CompressionPhase.run(spark, options);
      try {
        // A run that stalled past its lease may have been overtaken: its stats must not be
        // written twice.
        locks.checkHeld();
        reconciled = StatsPhase.run(spark, options, processed);
      } finally {
        processed.release();
      }
    }
    RunSummary summary =
        RunSummary.of(options, processed, reconciled, (System.nanoTime() - start) / 1e9);
    summary.lines().forEach(out::println);
    LOG.info(
        "run {} finished in {} s: compressed={} skipped={} failed={} incomplete={} reconciled={}"
            + " exit={}",
        summary.runId(),
        Math.round(summary.wallSeconds()),
        summary.compressed(),
        summary.skipped(),
        summary.failed(),
        summary.incomplete(),
        summary.reconciled(),
        summary.exitCode());
    return summary;
  }
}
