package org.loraquant.spark;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.plan.DiscoveredAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.stats.AdapterStatus;
import org.loraquant.stats.AdapterTotals;
import org.loraquant.stats.LayerFigures;
import org.loraquant.spark.stage.ManifestStage;
import org.loraquant.spark.stage.OutputState;
import org.loraquant.stats.StatsRows;
import org.loraquant.stats.StatsSchema;
import org.loraquant.stats.StatsTables;

/**
 * The second phase of a run (step 5 of {@link RecompressJob}): reconciles the stats of outputs
 * whose run was killed before writing them, then appends this run's rows (docs/STATS.md).
 */
final class StatsPhase {
  // The job's logger: operators follow one logger name for the whole run.
  private static final Logger LOG = LoggerFactory.getLogger(RecompressJob.class);

  private StatsPhase() {}

  /**
   * Appends the run's rows and, first, the rows of current outputs whose run never wrote them
   * (killed between writing outputs and writing stats). Returns how many adapters were reconciled.
   */
  static int run(SparkSession spark, JobOptions options, ProcessedRun processed)
      throws IOException {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    HadoopFileIO io = HadoopFileIO.of(spark.sparkContext());
    StatsTables tables = new StatsTables(spark, io, options.stats(), KillPoints::reached);
    // Under the run lock, anything uncommitted in the tables is a killed run's: gone before the
    // reconciliation looks and before this run's commit could merge it.
    for (String leftover : tables.removeLeftovers()) {
      LOG.info("run {}: removed {}, left by a killed stats write", options.runId(), leftover);
    }
    Map<String, DiscoveredAdapter> inputs = processed.inputsByPath();
    Map<String, AdapterOutcome> outcomes = new HashMap<>();
    processed.outcomes().forEach(o -> outcomes.put(o.adapter(), o));

    Reconciled reconciled = reconcile(jsc, io, tables, options, processed, inputs, outcomes);
    List<Row> adapterRows = new ArrayList<>(reconciled.adapterRows());

    // This run's adapters rows, one per adapter seen; the layers rows of those compressed now are
    // built on the executors.
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
                options.codec(),
                s.totals(),
                adapter.fingerprintedBytes(),
                s.output().bytes(),
                s.output().fixedFileBytes(),
                0,
                StatsRows.RECORDED_BY_RUN,
                processed.decidedAt(),
                null));
        continue;
      }
      AdapterOutcome o = outcomes.get(name);
      if (o == null) {
        throw new IllegalStateException("run " + options.runId() + " has no outcome for " + name);
      }
      if (o.status() == AdapterStatus.COMPRESSED) {
        // Its layers rows come from the executors (processed.layerRows()).
        adapterRows.add(
            StatsRows.withBudgetLambda(processed.fleetLambda(), StatsRows.adapter(
                origin,
                o.status(),
                null,
                options.runId(),
                options.codec(),
                o.totals(),
                adapter.fingerprintedBytes(),
                o.bytesOut(),
                o.fixedFileBytes(),
                o.seconds(),
                StatsRows.RECORDED_BY_RUN,
                o.finishedAt(),
                o.requests())));
      } else {
        adapterRows.add(
            StatsRows.adapter(
                origin,
                o.status(),
                o.message(),
                null,
                options.codec(),
                null,
                adapter.fingerprintedBytes(),
                null,
                null,
                o.seconds(),
                StatsRows.RECORDED_BY_RUN,
                o.finishedAt(),
                o.requests()));
      }
    }

    jsc.setJobDescription("loraquant: append stats to " + options.stats());
    // Both tables' files written first, then committed at once (on S3 two PUTs that wait
    // together). A run killed or failing between the two commits leaves one table's rows
    // without the other's: the next run's reconciliation checks each table on its own.
    JavaRDD<Row> layerRows = reconciled.layerRows().union(processed.layerRows());
    StatsTables.Written layers =
        tables.write(StatsTables.LAYERS, StatsSchema.LAYERS, List.of(), layerRows);
    StatsTables.Written adapters;
    try {
      KillPoints.reached(KillPoints.BETWEEN_TABLES);
      adapters = tables.write(StatsTables.ADAPTERS, StatsSchema.ADAPTERS, adapterRows, null);
    } catch (IOException | RuntimeException e) {
      layers.abort();
      throw e;
    }
    StatsTables.commitAtOnce(List.of(layers, adapters));
    if (reconciled.sidecars() != null) {
      reconciled.sidecars().unpersist(false);
    }
    jsc.setJobDescription(null);
    return reconciled.adapters();
  }

  /**
   * The stats rows a killed run never wrote for its outputs that are still current.
   *
   * @param adapterRows the missing adapters rows, built on the driver from the sidecars' totals
   * @param layerRows the missing layers rows, built on the executors from {@code sidecars}
   * @param sidecars the sidecars read, persisted until the rows are written; null when none
   * @param adapters how many outputs were reconciled
   */
  private record Reconciled(
      List<Row> adapterRows,
      JavaRDD<Row> layerRows,
      JavaRDD<Tuple2<OutputState, List<LayerFigures>>> sidecars,
      int adapters) {}

  /** Finds the current outputs whose run wrote no rows, and rebuilds them from their sidecars. */
  private static Reconciled reconcile(
      JavaSparkContext jsc,
      HadoopFileIO io,
      StatsTables tables,
      JobOptions options,
      ProcessedRun processed,
      Map<String, DiscoveredAdapter> inputs,
      Map<String, AdapterOutcome> outcomes)
      throws IOException {
    // Current outputs not replaced by this run, whose run has no rows.
    List<OutputState> current = new ArrayList<>();
    for (OutputState state : processed.outputs().values()) {
      String name = state.output().relativePath();
      AdapterOutcome outcome = outcomes.get(name);
      boolean replaced = outcome != null && outcome.status() == AdapterStatus.COMPRESSED;
      if (!replaced && state.isCurrentFor(inputs.get(name).fingerprint(), options.codec())) {
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
    if (missing.isEmpty()) {
      return new Reconciled(List.of(), jsc.emptyRDD(), null, 0);
    }
    LOG.info(
        "run {}: recovering the stats of {} outputs from their sidecars",
        options.runId(),
        missing.size());
    Broadcast<HadoopFileIO> ioBroadcast = jsc.broadcast(io);
    jsc.setJobDescription("loraquant: read " + missing.size() + " stats sidecars");
    // Read once on the executors and kept there: the driver takes each adapter's totals, and
    // the layers rows are written from the executors, as for this run's own outputs.
    JavaRDD<Tuple2<OutputState, List<LayerFigures>>> sidecars =
        jsc.parallelize(
                missing,
                Partitions.slices(missing.size(), Math.max(1, jsc.defaultParallelism())))
            .map(s -> new Tuple2<>(s, ManifestStage.layers(ioBroadcast.value(), s.output())))
            .persist(StorageLevel.MEMORY_AND_DISK());
    List<AdapterTotals> totalsOfMissing =
        sidecars.map(sidecar -> AdapterTotals.of(sidecar._2())).collect();
    List<Row> adapterRows = new ArrayList<>();
    Set<String> missingLayers = new HashSet<>();
    for (int i = 0; i < missing.size(); i++) {
      OutputState s = missing.get(i);
      String name = s.output().relativePath();
      String key = StatsTables.key(name, s.runId());
      if (!haveLayers.contains(key)) {
        missingLayers.add(key);
      }
      if (!haveAdapters.contains(key)) {
        AdapterTotals totals = totalsOfMissing.get(i);
        adapterRows.add(
            StatsRows.adapter(
                origin(s),
                AdapterStatus.COMPRESSED,
                null,
                s.runId(),
                options.codec(),
                totals,
                inputs.get(name).fingerprintedBytes(),
                s.output().bytes(),
                s.output().fixedFileBytes(),
                totals.layerSeconds(),
                StatsRows.RECORDED_FROM_SIDECAR,
                s.finishedAt(),
                null));
      }
    }
    JavaRDD<Row> reconciledLayerRows =
        sidecars
            .filter(
                sidecar ->
                    missingLayers.contains(
                        StatsTables.key(
                            sidecar._1().output().relativePath(), sidecar._1().runId())))
            .flatMap(
                sidecar ->
                    StatsRows.layers(origin(sidecar._1()), sidecar._2()).iterator());
    return new Reconciled(adapterRows, reconciledLayerRows, sidecars, missing.size());
  }

  /** The run that wrote an existing output, as its stats rows name it. */
  private static StatsRows.Origin origin(OutputState s) {
    return new StatsRows.Origin(
        s.runId(), s.runDate(), s.output().relativePath(), s.inputFingerprint());
  }
}
