package org.loraquant.spark;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.FleetShare;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.format.CompressedAdapterWriter;
import org.loraquant.io.OwnedFolder;
import org.loraquant.options.UsageException;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.OutputLayout;
import org.loraquant.plan.ExistingOutput;
import org.loraquant.plan.LayerPlanner;
import org.loraquant.plan.LayerTask;
import org.loraquant.plan.LayerWork;
import org.loraquant.plan.RunPlanner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import org.loraquant.hadoop.AdapterDiscovery;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.spark.stage.AdapterToAssemble;
import org.loraquant.stats.AdapterTotals;
import org.loraquant.spark.stage.AssembleStage;
import org.loraquant.spark.stage.FleetStage;
import org.loraquant.spark.stage.JobContext;
import org.loraquant.spark.stage.LayerOutcome;
import org.loraquant.spark.stage.LayerStage;
import org.loraquant.spark.stage.ManifestStage;
import org.loraquant.spark.stage.OpenOutcome;
import org.loraquant.spark.stage.OpenStage;
import org.loraquant.hadoop.OutputDiscovery;
import org.loraquant.hadoop.OutputFileIO;
import org.loraquant.spark.stage.OutputState;
import org.loraquant.spark.stage.PlannedTask;
import org.loraquant.stats.StatsRows;
import org.loraquant.stats.StatsSchema;

/**
 * The first phase of a run (steps 1 to 4 of {@link RecompressJob}): lists input and output,
 * decides what is up to date, opens, compresses and assembles the rest, and writes their outputs.
 * Writes no stats; {@link StatsPhase} does, from what this returns.
 */
final class CompressionPhase {
  // The job's logger: operators follow one logger name for the whole run.
  private static final Logger LOG = LoggerFactory.getLogger(RecompressJob.class);

  private CompressionPhase() {}

  /** Discovery, decisions, compression and writing of outputs; no stats are written. */
  public static ProcessedRun run(SparkSession spark, JobOptions options) throws IOException {
    StatsSchema.PARQUET_SPARK_CONF.forEach(spark.conf()::set);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    HadoopFileIO io = HadoopFileIO.of(spark.sparkContext());
    int parallelism = Math.max(1, jsc.defaultParallelism());

    jsc.setJobDescription("loraquant: list " + options.input() + " and " + options.output());
    List<DiscoveredAdapter> inputs =
        excludeJobFolders(io, options, AdapterDiscovery.discover(io, options.input()));
    OutputDiscovery.Listing outputListing = OutputDiscovery.list(io, options.output());
    Map<String, ExistingOutput> existing = outputListing.complete();
    LOG.info(
        "run {}: {} adapters under {}, {} complete outputs under {}",
        options.runId(),
        inputs.size(),
        options.input(),
        existing.size(),
        options.output());

    Broadcast<HadoopFileIO> ioBroadcast = jsc.broadcast(io);
    List<ExistingOutput> candidates = RunPlanner.manifestsToRead(inputs, existing);
    Map<String, OutputState> outputs = new TreeMap<>();
    if (!candidates.isEmpty()) {
      jsc.setJobDescription("loraquant: read " + candidates.size() + " output manifests");
      for (OutputState state :
          jsc.parallelize(candidates, Partitions.slices(candidates.size(), parallelism))
              .map(output -> ManifestStage.summary(ioBroadcast.value(), output))
              .collect()) {
        outputs.put(state.output().relativePath(), state);
      }
    }

    RunPlanner.Decisions decisions =
        RunPlanner.decide(inputs, outputs, options.codec().fingerprint(), options.force());
    Set<String> skipped = decisions.upToDate();
    Map<String, DiscoveredAdapter> toProcess = decisions.toCompress();
    Instant decidedAt = Instant.now();
    LOG.info(
        "run {}: {} adapters to compress, {} up to date",
        options.runId(),
        toProcess.size(),
        skipped.size());

    String outputRoot = qualifiedRoot(io, options.output());
    // Read-ahead and reading small adapters whole are for file systems where a read waits.
    String inputScheme = io.fileSystem(new Path(options.input())).getScheme();
    Map<String, OwnedFolder.Contents> outputFolders = new TreeMap<>();
    for (String adapter : toProcess.keySet()) {
      outputFolders.put(
          adapter,
          outputListing.contents(OutputLayout.folderOf(adapter), CompressedAdapterWriter.LAYOUT));
    }
    JobContext context =
        new JobContext(
            io,
            OutputFileIO.forScheme(
                io, new Path(outputRoot).toUri().getScheme(), KillPoints.OutputCommitted.INSTANCE),
            options.settings(),
            outputRoot,
            options.runId(),
            options.runDate(),
            Map.copyOf(toProcess),
            options.maxReadBytes(),
            options.budget(),
            outputFolders,
            options.readAheadBytesOn(inputScheme),
            options.storageThreads());
    Broadcast<JobContext> contextBroadcast = jsc.broadcast(context);

    List<AdapterOutcome> outcomes = new ArrayList<>();
    List<LayerWork> layers = new ArrayList<>();
    // What opening read (config and header) travels with the plan: to the layer tasks inside
    // their PlannedTask, to assembly beside the shuffled layers; nothing opens an adapter twice.
    Map<String, OpenedAdapter> opened = new TreeMap<>();
    List<Tuple2<String, AdapterToAssemble>> toAssemble = new ArrayList<>();
    // Small adapters are opened by their layer tasks, with one read of the whole file; they enter
    // the plan by their listed length. Not in scope fleet: its checks need every header first.
    List<LayerWork> readWhole =
        fleetScope(options)
            ? List.of()
            : RunPlanner.readWhole(
                toProcess,
                options.wholeFileBytesOn(inputScheme));
    for (LayerWork whole : readWhole) {
      toAssemble.add(
          new Tuple2<>(whole.adapter(), new AdapterToAssemble(null, StorageRequests.NONE)));
    }
    layers.addAll(readWhole);
    Set<String> openedInTasks = new HashSet<>();
    readWhole.forEach(whole -> openedInTasks.add(whole.adapter()));
    List<String> names = new ArrayList<>();
    for (String name : toProcess.keySet()) {
      if (!openedInTasks.contains(name)) {
        names.add(name);
      }
    }
    if (!names.isEmpty()) {
      jsc.setJobDescription("loraquant: open " + names.size() + " adapters");
      for (OpenOutcome open :
          jsc.parallelize(
                  names, Partitions.slices(names.size(), parallelism, options.storageThreads()))
              .mapPartitions(them -> OpenStage.openAll(contextBroadcast.value(), them))
              .collect()) {
        if (!open.opened()) {
          outcomes.add(
              AdapterOutcome.notCompressed(open.adapter(), open.status(), open.message(), 0)
                  .plusRequests(open.requests()));
        } else {
          opened.put(open.adapter(), open.openedAdapter());
          toAssemble.add(
              new Tuple2<>(
                  open.adapter(), new AdapterToAssemble(open.openedAdapter(), open.requests())));
          layers.addAll(open.layers());
        }
      }
    }

    LayerPlanner planner =
        new LayerPlanner(
            3 * parallelism,
            options.maxLayersPerTask(),
            options.targetTaskBytes(),
            LayerPlanner.DEFAULT_MIN_PIECE_BYTES);
    // Scope adapter encodes whole adapters: none cut, small ones still packed several to a task.
    List<LayerTask> tasks =
        wholeAdapters(options) ? planner.planWholeAdapters(layers) : planner.plan(layers);
    List<PlannedTask> planned = new ArrayList<>(tasks.size());
    for (LayerTask task : tasks) {
      planned.add(PlannedTask.of(task, opened));
    }
    // Scope fleet: the share of the budget is decided before any layer is read (exit 2 if the
    // unchanged adapters already exceed it, or if it cannot hold the smallest storable form of
    // the layers to compress); the layer stage then measures, the fleet is allocated, and the
    // persisted measurements are encoded.
    FleetShare fleetShare = null;
    FleetRun fleet = null;
    if (fleetScope(options) && !toAssemble.isEmpty()) {
      Map<String, AdapterTotals> unchanged = new TreeMap<>();
      for (String name : skipped) {
        unchanged.put(name, outputs.get(name).totals());
      }
      Map<String, Long> params = new TreeMap<>();
      long smallestBits = 0;
      for (Map.Entry<String, OpenedAdapter> e : opened.entrySet()) {
        PeftAdapter layout = FleetStage.layout(io, e.getValue());
        params.put(e.getKey(), FleetStage.params(layout));
        smallestBits += FleetStage.smallestStorableBits(layout, options.budget());
      }
      fleetShare = FleetStage.share(options.budget(), unchanged, params, options.force());
      FleetStage.requireSmallestForm(options.budget(), fleetShare, smallestBits, layers.size());
    }
    JavaRDD<AdapterOutcome> assembled = null;
    JavaRDD<LayerOutcome> measured = null;
    if (!toAssemble.isEmpty()) {
      long bytes = layers.stream().mapToLong(LayerWork::bytes).sum();
      LOG.info(
          "run {}: {} layers and {} small adapters read whole, {} MB in {} tasks",
          options.runId(),
          layers.size() - readWhole.size(),
          readWhole.size(),
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
                + (layers.size() - readWhole.size())
                + " layers and "
                + readWhole.size()
                + " small adapters, write "
                + (toProcess.size() - outcomes.size())
                + " adapters");
        int assemblyPartitions =
            Partitions.slices(toAssemble.size(), parallelism, options.storageThreads());
        JavaRDD<LayerOutcome> layerOutcomes =
            jsc.parallelize(planned, Math.max(1, planned.size()))
                .flatMap(
                    task ->
                        LayerStage.compress(contextBroadcast.value(), task, layersDone, bytesDone));
        if (fleetShare != null) {
          // Read once: the measurements (table and factors) stay on the executors' disks until
          // they are encoded (FleetStage).
          measured = layerOutcomes.persist(StorageLevel.DISK_ONLY());
          jsc.setJobDescription(
              "loraquant: read and measure " + layers.size() + " layers for the fleet budget");
          FleetStage.Widths widths = FleetStage.allocate(measured, options.budget(), fleetShare);
          // The share without the adapters a failed layer left out of the allocation.
          FleetShare allocated = widths.share();
          LOG.info(
              "run {}: fleet budget {} bits, {} stored by {} unchanged adapters, {} shared:"
                  + " lambda {}, {} bits allocated, {} failed adapters left out",
              options.runId(),
              allocated.budgetBits(),
              allocated.storedBits(),
              allocated.skipped().size(),
              allocated.sharedBits(),
              widths.allocation().lambda(),
              widths.allocation().spentBits(),
              allocated.leftOut().size());
          Broadcast<Map<String, int[]>> fleetWidths = jsc.broadcast(widths.byLayer());
          fleet = new FleetRun(options.budget(), allocated, widths.allocation().lambda(),
              widths.allocation().spentBits(), widths.allocation().capRounds(),
              widths.allocation().overCap());
          if (!fleet.capNote().isEmpty()) {
            LOG.warn("run {}: fleet budget, weight adapter{}", options.runId(), fleet.capNote());
          }
          Set<String> leftOut = Set.copyOf(allocated.leftOut());
          layerOutcomes =
              measured.map(
                  layer ->
                      LayerStage.encodeMeasured(
                          contextBroadcast.value(), layer, fleetWidths.value(), leftOut));
          jsc.setJobDescription(
              "loraquant: encode "
                  + layers.size()
                  + " layers, write "
                  + (toProcess.size() - outcomes.size())
                  + " adapters");
        }
        JavaPairRDD<String, LayerOutcome> compressedLayers =
            layerOutcomes.mapToPair(layer -> new Tuple2<>(layer.adapter(), layer));
        // Every opened adapter meets its layers (none, for an adapter without LoRA layers).
        JavaPairRDD<String, Tuple2<Iterable<AdapterToAssemble>, Iterable<LayerOutcome>>> byAdapter =
            jsc.parallelizePairs(toAssemble, assemblyPartitions)
                .cogroup(compressedLayers, assemblyPartitions);
        // Kept on the executors for the stats phase, which writes the layers rows from them, so
        // the driver collects only the outcomes without their layer reports.
        // A task writes its adapters together (JobContext.storageThreads), outcomes in order.
        assembled =
            byAdapter
                .mapPartitions(
                    groups ->
                        AssembleStage.assembleAll(contextBroadcast.value(), groups, adaptersDone))
                .persist(StorageLevel.MEMORY_AND_DISK());
        outcomes.addAll(assembled.map(AdapterOutcome::withoutLayers).collect());
        LOG.info(progress.line());
      } finally {
        if (measured != null) {
          measured.unpersist();
        }
      }
    }
    jsc.setJobDescription(null);
    JavaRDD<Row> layerRows =
        assembled == null
            ? jsc.emptyRDD()
            : assembled.flatMap(
                o -> {
                  JobContext c = contextBroadcast.value();
                  return StatsRows.layersCompressedNow(c.runId(), c.runDate(),
                      a -> c.adapter(a).fingerprint(), o).iterator();
                });
    return new ProcessedRun(
        inputs, outputs, skipped, outcomes, tasks, decidedAt, layerRows, assembled, fleet);
  }

  /** Whether the budget mode's scope {@code fleet} is on. */
  static boolean fleetScope(JobOptions options) {
    return options.budget() != null && options.budget().scope() == BudgetScope.FLEET;
  }

  /** Whether a layer task must hold whole adapters: the budget mode's scope {@code adapter}. */
  static boolean wholeAdapters(JobOptions options) {
    return options.budget() != null && options.budget().scope() == BudgetScope.ADAPTER;
  }

  /**
   * {@link RunPlanner#withoutJobFolders} for this run's roots.
   *
   * @throws UsageException (exit code 2, before anything is written) when the input lies inside
   *     the output or stats root, or one of those lies inside an input adapter's folder
   */
  static List<DiscoveredAdapter> excludeJobFolders(
      HadoopFileIO io, JobOptions options, List<DiscoveredAdapter> found) throws IOException {
    try {
      return RunPlanner.withoutJobFolders(root(io, options.input()), jobRoots(io, options), found);
    } catch (RunPlanner.RootsOverlapException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /**
   * {@link RunPlanner#refuseRootsInsideInputAdapters} for this run's roots, before the run lock
   * creates anything under them.
   *
   * @throws UsageException (exit code 2) naming the root and the adapter's folder
   */
  static void refuseRootsInsideInputAdapters(HadoopFileIO io, JobOptions options)
      throws IOException {
    try {
      RunPlanner.refuseRootsInsideInputAdapters(
          io, root(io, options.input()), jobRoots(io, options));
    } catch (RunPlanner.RootsOverlapException e) {
      throw new UsageException(e.getMessage());
    }
  }

  private static List<RunPlanner.Root> jobRoots(HadoopFileIO io, JobOptions options)
      throws IOException {
    return List.of(root(io, options.output()), root(io, options.stats()));
  }

  private static RunPlanner.Root root(HadoopFileIO io, String given) throws IOException {
    return new RunPlanner.Root(given, qualifiedRoot(io, given));
  }

  static String qualifiedRoot(HadoopFileIO io, String root) throws IOException {
    Path path = new Path(root);
    String qualified = io.fileSystem(path).makeQualified(path).toString();
    return qualified.endsWith("/") && qualified.length() > 1
        ? qualified.substring(0, qualified.length() - 1)
        : qualified;
  }
}
