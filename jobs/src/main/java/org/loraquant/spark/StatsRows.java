package org.loraquant.spark;

import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.LayerStats;
import org.loraquant.compress.LayerReport;
import org.loraquant.hadoop.StorageRequests;

/** Rows of the two stats tables, in the column order of {@link StatsSchema} (docs/STATS.md). */
final class StatsRows {
  static final String RECORDED_BY_RUN = "run";
  static final String RECORDED_FROM_SIDECAR = "sidecar";

  private StatsRows() {}

  /** Who a set of rows belongs to: the run that compressed the adapter, and its input. */
  record Origin(String runId, LocalDate runDate, String adapter, String inputFingerprint) {}

  static Row layer(Origin origin, CodecSettings settings, LayerReport report) {
    LayerStats s = report.stats();
    return RowFactory.create(
        origin.runId(),
        Date.valueOf(origin.runDate()),
        origin.adapter(),
        origin.inputFingerprint(),
        report.module(),
        report.moduleKind(),
        report.layerIndex(),
        s.m(),
        s.n(),
        s.rank(),
        s.k(),
        s.h(),
        settings.rho(),
        settings.bitsHigh(),
        settings.groupSize(),
        splitRule(settings),
        refine(settings),
        s.singularValues(),
        s.highEnergyShare(),
        s.payloadBits(),
        s.effectiveBits(),
        s.params(),
        report.bytesIn(),
        report.bytesOut(),
        s.relError(),
        s.errorHigh(),
        s.errorLow(),
        report.seconds(),
        s.zeroUpdate() ? "zero_update" : "compressed",
        s.zeroUpdate()
            ? "all-zero update (B A = 0): stored exactly, rel_error 0 by definition"
            : null);
  }

  /**
   * The layers rows of one adapter this run compressed, built where the outcome is (on an
   * executor); none for any other outcome.
   */
  static List<Row> layersCompressedNow(JobContext context, AdapterOutcome outcome) {
    if (outcome.status() != AdapterStatus.COMPRESSED) {
      return List.of();
    }
    Origin origin =
        new Origin(
            context.runId(),
            context.runDate(),
            outcome.adapter(),
            context.adapter(outcome.adapter()).fingerprint());
    return layers(origin, context.settings(), outcome.layers());
  }

  /** The layers rows of one compressed output. */
  static List<Row> layers(Origin origin, CodecSettings settings, List<LayerReport> reports) {
    List<Row> rows = new ArrayList<>(reports.size());
    for (LayerReport report : reports) {
      rows.add(layer(origin, settings, report));
    }
    return rows;
  }

  /** An adapters row of an adapter this run did not read (skipped, or from a sidecar). */
  static Row adapter(
      Origin origin,
      AdapterStatus status,
      String message,
      String outputRunId,
      CodecSettings settings,
      AdapterTotals totals,
      long bytesIn,
      Long bytesOut,
      Long fixedFileBytes,
      double seconds,
      String recordedFrom,
      Instant finishedAt) {
    return adapter(
        origin,
        status,
        message,
        outputRunId,
        settings,
        totals,
        bytesIn,
        bytesOut,
        fixedFileBytes,
        seconds,
        recordedFrom,
        finishedAt,
        null);
  }

  /**
   * An adapters row.
   *
   * @param totals the output's figures; null when there is no output
   * @param bytesOut size of the output folder; null when there is no output
   * @param fixedFileBytes of those, the config and manifest files; null when there is no output
   * @param requests what the adapter cost in storage requests this run; null when it was not read
   */
  static Row adapter(
      Origin origin,
      AdapterStatus status,
      String message,
      String outputRunId,
      CodecSettings settings,
      AdapterTotals totals,
      long bytesIn,
      Long bytesOut,
      Long fixedFileBytes,
      double seconds,
      String recordedFrom,
      Instant finishedAt,
      StorageRequests requests) {
    boolean output = totals != null && bytesOut != null;
    long params = output ? totals.params() : 0;
    return RowFactory.create(
        origin.runId(),
        Date.valueOf(origin.runDate()),
        origin.adapter(),
        origin.inputFingerprint(),
        status.value(),
        message,
        outputRunId,
        settings.rho(),
        settings.bitsHigh(),
        settings.groupSize(),
        splitRule(settings),
        refine(settings),
        output ? totals.layers() : null,
        output ? totals.params() : null,
        bytesIn,
        output ? bytesOut : null,
        output && bytesOut > 0 ? (double) bytesIn / bytesOut : null,
        output ? totals.payloadBits() : null,
        output ? bytesOut * 8 : null,
        output && params > 0 ? (double) totals.payloadBits() / params : null,
        output && params > 0 ? (double) bytesOut * 8 / params : null,
        output ? totals.weightedRelError() : null,
        output ? totals.worstLayer() : null,
        output && totals.worstLayer() != null ? totals.worstRelError() : null,
        seconds,
        recordedFrom,
        Timestamp.from(finishedAt),
        requests == null ? null : requests.total(),
        requests == null ? null : requests.bytesRead(),
        // tensor_bits, tensor_bits_per_param, overhead_bytes (docs/STATS.md)
        output ? totals.tensorBits() : null,
        output && params > 0 ? (double) totals.tensorBits() / params : null,
        output ? bytesOut - totals.tensorBits() / 8 : null,
        // fixed_file_bytes (docs/STATS.md)
        output ? fixedFileBytes : null);
  }

  private static String splitRule(CodecSettings settings) {
    return settings.splitRule().name().toLowerCase(Locale.ROOT);
  }

  private static String refine(CodecSettings settings) {
    return settings.refinement().name().toLowerCase(Locale.ROOT);
  }
}
