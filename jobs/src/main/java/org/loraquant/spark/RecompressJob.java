package org.loraquant.spark;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.loraquant.compress.LayerReport;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.plan.LayerPlanner;
import org.loraquant.plan.LayerTask;
import org.loraquant.plan.LayerWork;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import org.loraquant.options.UsageException;

/**
 * The nightly recompression job: compresses every adapter under {@code --input} into the same
 * relative path under {@code --output} and appends the run's statistics to the tables under {@code
 * --stats} (docs/STATS.md). For {@code spark-submit --class org.loraquant.spark.RecompressJob};
 * {@code bin/loraquant recompress} runs it on local Spark.
 *
 * <p>The run, driver and executors:
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
 * <p>Exit codes: 0 done, 1 more than {@code --max-failed} adapters failed or the run itself failed
 * (storage, Spark), 2 bad command line or settings file.
 */
public final class RecompressJob {
  public static final int EXIT_OK = 0;
  public static final int EXIT_FAILED = 1;
  public static final int EXIT_USAGE = 2;

  private static final Logger LOG = LoggerFactory.getLogger(RecompressJob.class);

  private RecompressJob() {}

  /** spark-submit entry point: uses the session spark-submit configured (never sets a master). */
  public static void main(String[] args) {
    JobOptions options;
    try {
      options = JobOptions.parse(List.of(args), Instant.now());
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
      code = runAndReport(spark, options, System.out, System.err);
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

  /** A full run: outputs, then stats, then the summary on {@code out}. */
  public static RunSummary run(SparkSession spark, JobOptions options, PrintStream out)
      throws IOException {
    long start = System.nanoTime();
    Processed processed = writeOutputs(spark, options);
    int reconciled = writeStats(spark, options, processed);
    RunSummary summary =
        summarise(options, processed, reconciled, (System.nanoTime() - start) / 1e9);
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

  /**
   * What the output stage did, before any stats are written.
   *
   * @param inputs every adapter found under the input
   * @param outputs the manifests of the existing outputs of those adapters, as found at the start
   * @param skipped adapters whose output was already current
   * @param outcomes what happened to every other adapter
   * @param tasks the layer tasks the run planned
   */
  public record Processed(
      List<DiscoveredAdapter> inputs,
      Map<String, OutputState> outputs,
      Set<String> skipped,
      List<AdapterOutcome> outcomes,
      List<LayerTask> tasks,
      Instant decidedAt) {}

  /** Discovery, decisions, compression and writing of outputs; no stats are written. */
  public static Processed writeOutputs(SparkSession spark, JobOptions options) throws IOException {
    StatsSchema.PARQUET_SPARK_CONF.forEach(spark.conf()::set);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    HadoopFileIO io = HadoopFileIO.of(spark.sparkContext());
    int parallelism = Math.max(1, jsc.defaultParallelism());

    jsc.setJobDescription("loraquant: list " + options.input() + " and " + options.output());
    List<DiscoveredAdapter> inputs =
        excludeJobFolders(io, options, AdapterDiscovery.discover(io, options.input()));
    Map<String, ExistingOutput> existing = OutputDiscovery.discover(io, options.output());
    LOG.info(
        "run {}: {} adapters under {}, {} complete outputs under {}",
        options.runId(),
        inputs.size(),
        options.input(),
        existing.size(),
        options.output());

    Broadcast<HadoopFileIO> ioBroadcast = jsc.broadcast(io);
    List<ExistingOutput> candidates = new ArrayList<>();
    for (DiscoveredAdapter adapter : inputs) {
      ExistingOutput output = existing.get(adapter.relativePath());
      if (output != null) {
        candidates.add(output);
      }
    }
    Map<String, OutputState> outputs = new TreeMap<>();
    if (!candidates.isEmpty()) {
      jsc.setJobDescription("loraquant: read " + candidates.size() + " output manifests");
      for (OutputState state :
          jsc.parallelize(candidates, slices(candidates.size(), parallelism))
              .map(output -> ManifestStage.summary(ioBroadcast.value(), output))
              .collect()) {
        outputs.put(state.output().relativePath(), state);
      }
    }

    Set<String> skipped = new TreeSet<>();
    Map<String, DiscoveredAdapter> toProcess = new LinkedHashMap<>();
    for (DiscoveredAdapter adapter : inputs) {
      OutputState state = outputs.get(adapter.relativePath());
      if (!options.force()
          && state != null
          && state.isCurrentFor(adapter.fingerprint(), options.settings())) {
        skipped.add(adapter.relativePath());
      } else {
        toProcess.put(adapter.relativePath(), adapter);
      }
    }
    Instant decidedAt = Instant.now();
    LOG.info(
        "run {}: {} adapters to compress, {} up to date",
        options.runId(),
        toProcess.size(),
        skipped.size());

    String outputRoot = qualifiedRoot(io, options.output());
    JobContext context =
        new JobContext(
            io,
            OutputFileIO.forScheme(io, new Path(outputRoot).toUri().getScheme()),
            options.settings(),
            outputRoot,
            options.runId(),
            options.runDate(),
            Map.copyOf(toProcess));
    Broadcast<JobContext> contextBroadcast = jsc.broadcast(context);

    List<AdapterOutcome> outcomes = new ArrayList<>();
    List<LayerWork> layers = new ArrayList<>();
    List<Tuple2<String, Iterable<LayerOutcome>>> withoutLayers = new ArrayList<>();
    if (!toProcess.isEmpty()) {
      jsc.setJobDescription("loraquant: open " + toProcess.size() + " adapters");
      List<String> names = new ArrayList<>(toProcess.keySet());
      for (OpenOutcome opened :
          jsc.parallelize(names, slices(names.size(), parallelism))
              .map(name -> OpenStage.open(contextBroadcast.value(), name))
              .collect()) {
        if (!opened.opened()) {
          outcomes.add(
              AdapterOutcome.notCompressed(opened.adapter(), opened.status(), opened.message(), 0));
        } else if (opened.layers().isEmpty()) {
          withoutLayers.add(new Tuple2<>(opened.adapter(), List.of()));
        } else {
          layers.addAll(opened.layers());
        }
      }
    }

    List<LayerTask> tasks =
        new LayerPlanner(3 * parallelism, options.maxLayersPerTask(), options.targetTaskBytes())
            .plan(layers);
    if (!tasks.isEmpty() || !withoutLayers.isEmpty()) {
      long bytes = layers.stream().mapToLong(LayerWork::bytes).sum();
      LOG.info(
          "run {}: {} layers, {} MB in {} tasks",
          options.runId(),
          layers.size(),
          bytes / 1_000_000,
          tasks.size());
      try (JobProgress progress = new JobProgress(spark.sparkContext())) {
        progress.start(toProcess.size() - outcomes.size(), bytes);
        // Locals, so the closures capture the accumulators and not the (driver-only) progress.
        LongAccumulator layersDone = progress.layersDone;
        LongAccumulator bytesDone = progress.bytesDone;
        LongAccumulator adaptersDone = progress.adaptersDone;
        jsc.setJobDescription(
            "loraquant: compress "
                + layers.size()
                + " layers, write "
                + (toProcess.size() - outcomes.size())
                + " adapters");
        JavaPairRDD<String, Iterable<LayerOutcome>> byAdapter =
            jsc.parallelize(tasks, Math.max(1, tasks.size()))
                .flatMap(
                    task ->
                        LayerStage.compress(contextBroadcast.value(), task, layersDone, bytesDone))
                .mapToPair(layer -> new Tuple2<>(layer.adapter(), layer))
                .groupByKey(slices(toProcess.size(), parallelism));
        if (!withoutLayers.isEmpty()) {
          byAdapter = byAdapter.union(jsc.parallelizePairs(withoutLayers, 1));
        }
        outcomes.addAll(
            byAdapter
                .map(
                    group ->
                        AssembleStage.assemble(
                            contextBroadcast.value(), group._1(), group._2(), adaptersDone))
                .collect());
        LOG.info(progress.line());
      }
    }
    jsc.setJobDescription(null);
    return new Processed(inputs, outputs, skipped, outcomes, tasks, decidedAt);
  }

  /**
   * Appends the run's rows and, first, the rows of current outputs whose run never wrote them
   * (killed between writing outputs and writing stats). Returns how many adapters were reconciled.
   */
  static int writeStats(SparkSession spark, JobOptions options, Processed processed)
      throws IOException {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    HadoopFileIO io = HadoopFileIO.of(spark.sparkContext());
    StatsTables tables = new StatsTables(spark, io, options.stats());
    Map<String, DiscoveredAdapter> inputs = new HashMap<>();
    processed.inputs().forEach(a -> inputs.put(a.relativePath(), a));
    Map<String, AdapterOutcome> outcomes = new HashMap<>();
    processed.outcomes().forEach(o -> outcomes.put(o.adapter(), o));

    List<Row> layerRows = new ArrayList<>();
    List<Row> adapterRows = new ArrayList<>();

    // Reconcile: current outputs not replaced by this run, whose run has no rows.
    List<OutputState> current = new ArrayList<>();
    for (OutputState state : processed.outputs().values()) {
      String name = state.output().relativePath();
      AdapterOutcome outcome = outcomes.get(name);
      boolean replaced = outcome != null && outcome.status() == AdapterStatus.COMPRESSED;
      if (!replaced && state.isCurrentFor(inputs.get(name).fingerprint(), options.settings())) {
        current.add(state);
      }
    }
    Set<String> runIds = new TreeSet<>();
    Set<java.time.LocalDate> dates = new TreeSet<>();
    current.forEach(
        s -> {
          runIds.add(s.runId());
          dates.add(s.runDate());
        });
    jsc.setJobDescription("loraquant: check stats of " + current.size() + " existing outputs");
    Set<String> haveLayers = tables.keys(StatsTables.LAYERS, StatsSchema.LAYERS, runIds, dates);
    Set<String> haveAdapters =
        tables.keys(StatsTables.ADAPTERS, StatsSchema.ADAPTERS, runIds, dates);
    List<OutputState> missing = new ArrayList<>();
    for (OutputState s : current) {
      String key = StatsTables.key(s.output().relativePath(), s.runId());
      if (!haveLayers.contains(key) || !haveAdapters.contains(key)) {
        missing.add(s);
      }
    }
    if (!missing.isEmpty()) {
      LOG.info(
          "run {}: recovering the stats of {} outputs from their sidecars",
          options.runId(),
          missing.size());
      Broadcast<HadoopFileIO> ioBroadcast = jsc.broadcast(io);
      jsc.setJobDescription("loraquant: read " + missing.size() + " stats sidecars");
      List<List<LayerReport>> reports =
          jsc.parallelize(missing, slices(missing.size(), Math.max(1, jsc.defaultParallelism())))
              .map(s -> ManifestStage.layers(ioBroadcast.value(), s.output()))
              .collect();
      for (int i = 0; i < missing.size(); i++) {
        OutputState s = missing.get(i);
        String name = s.output().relativePath();
        StatsRows.Origin origin =
            new StatsRows.Origin(s.runId(), s.runDate(), name, s.inputFingerprint());
        String key = StatsTables.key(name, s.runId());
        if (!haveLayers.contains(key)) {
          for (LayerReport r : reports.get(i)) {
            layerRows.add(StatsRows.layer(origin, options.settings(), r));
          }
        }
        if (!haveAdapters.contains(key)) {
          AdapterTotals totals = AdapterTotals.of(reports.get(i));
          adapterRows.add(
              StatsRows.adapter(
                  origin,
                  AdapterStatus.COMPRESSED,
                  null,
                  s.runId(),
                  options.settings(),
                  totals,
                  inputBytes(inputs.get(name)),
                  s.output().bytes(),
                  totals.layerSeconds(),
                  StatsRows.RECORDED_FROM_SIDECAR,
                  s.finishedAt()));
        }
      }
    }

    // This run's rows: one per adapter seen, layer rows for those compressed now.
    for (DiscoveredAdapter adapter : processed.inputs()) {
      String name = adapter.relativePath();
      StatsRows.Origin origin =
          new StatsRows.Origin(options.runId(), options.runDate(), name, adapter.fingerprint());
      if (processed.skipped().contains(name)) {
        OutputState s = processed.outputs().get(name);
        adapterRows.add(
            StatsRows.adapter(
                origin,
                AdapterStatus.SKIPPED,
                "up to date: input fingerprint and codec settings match the output of run "
                    + s.runId(),
                s.runId(),
                options.settings(),
                s.totals(),
                inputBytes(adapter),
                s.output().bytes(),
                0,
                StatsRows.RECORDED_BY_RUN,
                processed.decidedAt()));
        continue;
      }
      AdapterOutcome o = outcomes.get(name);
      if (o == null) {
        throw new IllegalStateException("run " + options.runId() + " has no outcome for " + name);
      }
      if (o.status() == AdapterStatus.COMPRESSED) {
        for (LayerReport r : o.layers()) {
          layerRows.add(StatsRows.layer(origin, options.settings(), r));
        }
        adapterRows.add(
            StatsRows.adapter(
                origin,
                o.status(),
                null,
                options.runId(),
                options.settings(),
                AdapterTotals.of(o.layers()),
                inputBytes(adapter),
                o.bytesOut(),
                o.seconds(),
                StatsRows.RECORDED_BY_RUN,
                o.finishedAt()));
      } else {
        adapterRows.add(
            StatsRows.adapter(
                origin,
                o.status(),
                o.message(),
                null,
                options.settings(),
                null,
                inputBytes(adapter),
                null,
                o.seconds(),
                StatsRows.RECORDED_BY_RUN,
                o.finishedAt()));
      }
    }

    jsc.setJobDescription("loraquant: append stats to " + options.stats());
    // Layers first: a run killed in between leaves the adapters rows to the next run's
    // reconciliation, which checks each table on its own.
    tables.append(StatsTables.LAYERS, StatsSchema.LAYERS, layerRows);
    tables.append(StatsTables.ADAPTERS, StatsSchema.ADAPTERS, adapterRows);
    jsc.setJobDescription(null);
    return missing.size();
  }

  private static RunSummary summarise(
      JobOptions options, Processed processed, int reconciled, double seconds) {
    Map<String, DiscoveredAdapter> inputs = new HashMap<>();
    processed.inputs().forEach(a -> inputs.put(a.relativePath(), a));
    int compressed = 0;
    int failed = 0;
    int incomplete = 0;
    long bytesIn = 0;
    long bytesOut = 0;
    long params = 0;
    long payload = 0;
    long effective = 0;
    double errorTimesParams = 0;
    Map<String, String> failures = new TreeMap<>();
    for (AdapterOutcome o : processed.outcomes()) {
      switch (o.status()) {
        case COMPRESSED -> {
          compressed++;
          bytesIn += inputBytes(inputs.get(o.adapter()));
          bytesOut += o.bytesOut();
          AdapterTotals t = AdapterTotals.of(o.layers());
          params += t.params();
          payload += t.payloadBits();
          effective += o.bytesOut() * 8;
          errorTimesParams += t.weightedRelError() * t.params();
        }
        case FAILED -> {
          failed++;
          failures.put(o.adapter(), o.message());
        }
        case INCOMPLETE -> incomplete++;
        case SKIPPED -> throw new IllegalStateException("skipped adapters have no outcome");
      }
    }
    for (String name : processed.skipped()) {
      OutputState s = processed.outputs().get(name);
      params += s.totals().params();
      payload += s.totals().payloadBits();
      effective += s.output().bytes() * 8;
      errorTimesParams += s.totals().weightedRelError() * s.totals().params();
    }
    return new RunSummary(
        options.runId(),
        compressed,
        processed.skipped().size(),
        failed,
        incomplete,
        reconciled,
        bytesIn,
        bytesOut,
        params,
        payload,
        effective,
        params == 0 ? 0 : errorTimesParams / params,
        seconds,
        options.maxFailed(),
        failures);
  }

  /** Bytes of the files the fingerprint covers: the config and the safetensors files. */
  static long inputBytes(DiscoveredAdapter adapter) {
    return adapter.files().stream()
        .filter(
            f -> f.name().equals(AdapterDiscovery.CONFIG_FILE) || f.name().endsWith(".safetensors"))
        .mapToLong(DiscoveredAdapter.AdapterFile::size)
        .sum();
  }

  /**
   * Drops adapters found under the output or stats root when those lie inside the input (a
   * compressed adapter keeps its adapter_config.json and would otherwise be compressed again).
   */
  static List<DiscoveredAdapter> excludeJobFolders(
      HadoopFileIO io, JobOptions options, List<DiscoveredAdapter> found) throws IOException {
    String input = qualifiedRoot(io, options.input()) + "/";
    List<String> excluded = new ArrayList<>();
    for (String root : List.of(options.output(), options.stats())) {
      String qualified = qualifiedRoot(io, root);
      if (input.startsWith(qualified + "/")) {
        // Outputs would land among the inputs (or replace them): refuse before writing anything.
        throw new LoraQuantException(
            "--input "
                + options.input()
                + " is the same as, or inside, "
                + root
                + "; the output and stats folders must be outside the input (or inside it, in a"
                + " folder of their own)");
      }
      if (qualified.startsWith(input)) {
        excluded.add(qualified.substring(input.length()));
      }
    }
    if (excluded.isEmpty()) {
      return found;
    }
    List<DiscoveredAdapter> kept = new ArrayList<>();
    for (DiscoveredAdapter a : found) {
      String path = a.relativePath();
      if (excluded.stream().noneMatch(e -> path.equals(e) || path.startsWith(e + "/"))) {
        kept.add(a);
      }
    }
    return kept;
  }

  static String qualifiedRoot(HadoopFileIO io, String root) throws IOException {
    Path path = new Path(root);
    String qualified = io.fileSystem(path).makeQualified(path).toString();
    return qualified.endsWith("/") && qualified.length() > 1
        ? qualified.substring(0, qualified.length() - 1)
        : qualified;
  }

  private static int slices(int items, int parallelism) {
    return Math.max(1, Math.min(items, 4 * parallelism));
  }
}
