package org.loraquant.stats;

import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CompressionSettings;
import org.loraquant.hadoop.StorageRequests;

/**
 * Rows of the two stats tables (docs/STATS.md), built by column name: values are given by the
 * names of {@link StatsSchema}'s columns and placed where the schema has them, so a column added
 * to the schema cannot shift the others.
 */
public final class StatsRows {
  public static final String RECORDED_BY_RUN = "run";
  public static final String RECORDED_FROM_SIDECAR = "sidecar";

  private StatsRows() {}

  /** Who a set of rows belongs to: the run that compressed the adapter, and its input. */
  public record Origin(String runId, LocalDate runDate, String adapter, String inputFingerprint) {}

  /**
   * A row of {@code schema} with {@code values} by column name; columns not given are null.
   *
   * @throws IllegalArgumentException for a name the schema does not have, or a non-nullable
   *     column left null
   */
  static Row row(StructType schema, Map<String, Object> values) {
    for (String name : values.keySet()) {
      if (!schema.getFieldIndex(name).isDefined()) {
        throw new IllegalArgumentException("stats row: no column '" + name + "' in the table");
      }
    }
    StructField[] fields = schema.fields();
    Object[] cells = new Object[fields.length];
    for (int i = 0; i < fields.length; i++) {
      cells[i] = values.get(fields[i].name());
      if (cells[i] == null && !fields[i].nullable()) {
        throw new IllegalArgumentException(
            "stats row: column '" + fields[i].name() + "' must not be null");
      }
    }
    return RowFactory.create(cells);
  }

  private static Map<String, Object> origin(Origin origin) {
    Map<String, Object> values = new HashMap<>();
    values.put("run_id", origin.runId());
    values.put("run_date", Date.valueOf(origin.runDate()));
    values.put("adapter", origin.adapter());
    values.put("input_fingerprint", origin.inputFingerprint());
    return values;
  }

  static Row layer(Origin origin, LayerFigures figures) {
    Map<String, Object> values = origin(origin);
    values.putAll(figures.columns());
    return row(StatsSchema.LAYERS, values);
  }

  /**
   * The layers rows of one adapter this run compressed, built where the outcome is (on an
   * executor); none for any other outcome.
   */
  public static List<Row> layersCompressedNow(String runId, LocalDate runDate,
      Function<String, String> inputFingerprint, AdapterOutcome outcome) {
    if (outcome.status() != AdapterStatus.COMPRESSED) {
      return List.of();
    }
    Origin origin =
        new Origin(runId, runDate, outcome.adapter(), inputFingerprint.apply(outcome.adapter()));
    return layers(origin, outcome.layers());
  }

  /** The layers rows of one compressed output. */
  public static List<Row> layers(Origin origin, List<LayerFigures> layers) {
    List<Row> rows = new ArrayList<>(layers.size());
    for (LayerFigures layer : layers) {
      rows.add(layer(origin, layer));
    }
    return rows;
  }

  /**
   * An adapters row.
   *
   * @param settings the run's codec settings, either mode
   * @param totals the output's figures; null when there is no output
   * @param bytesOut size of the output folder; null when there is no output
   * @param fixedFileBytes size of its adapter_config.json and manifest; null when there is no output
   * @param fixedFileBytes of those, the config and manifest files; null when there is no output
   * @param requests what the adapter cost in storage requests this run; null when it was not read
   */
  /**
   * An adapters row of an adapter compressed now with the run's fleet multiplier in {@code
   * budget_lambda} (issue 20); the row as it is when there is none.
   */
  public static Row withBudgetLambda(Double lambda, Row row) {
    if (lambda == null) {
      return row;
    }
    Object[] cells = new Object[row.length()];
    for (int i = 0; i < cells.length; i++) {
      cells[i] = row.get(i);
    }
    cells[StatsSchema.ADAPTERS.fieldIndex("budget_lambda")] = lambda;
    return RowFactory.create(cells);
  }

  public static Row adapter(
      Origin origin,
      AdapterStatus status,
      String message,
      String outputRunId,
      CompressionSettings settings,
      AdapterTotals totals,
      long bytesIn,
      Long bytesOut,
      Long fixedFileBytes,
      double seconds,
      String recordedFrom,
      Instant finishedAt,
      StorageRequests requests) {
    Map<String, Object> values = origin(origin);
    values.put("status", status.value());
    values.put("message", message);
    values.put("output_run_id", outputRunId);
    values.put("mode", settings.modeName());
    for (CodecSetting setting : CodecSetting.values()) {
      values.put(setting.statsColumn(), settings.value(setting));
    }
    values.put("bytes_in", bytesIn);
    values.put("seconds", seconds);
    values.put("recorded_from", recordedFrom);
    values.put("finished_at", Timestamp.from(finishedAt));
    if (requests != null) {
      values.put("requests", requests.total());
      values.put("bytes_read", requests.bytesRead());
    }
    if (totals != null && bytesOut != null) {
      long params = totals.params();
      values.put("layers", totals.layers());
      values.put("params", params);
      values.put("bytes_out", bytesOut);
      values.put("compression_ratio", bytesOut > 0 ? (double) bytesIn / bytesOut : null);
      values.put("payload_bits", totals.payloadBits());
      values.put("effective_bits", bytesOut * 8);
      if (params > 0) {
        values.put("payload_bits_per_param", (double) totals.payloadBits() / params);
        values.put("effective_bits_per_param", (double) bytesOut * 8 / params);
        values.put("tensor_bits_per_param", (double) totals.tensorBits() / params);
      }
      // What grows with the adapter apart from the bytes that do not (docs/STATS.md).
      values.put("tensor_bits", totals.tensorBits());
      values.put("overhead_bytes", bytesOut - totals.tensorBits() / 8);
      values.put("fixed_file_bytes", fixedFileBytes);
      values.put("weighted_rel_error", totals.weightedRelError());
      values.put("worst_layer", totals.worstLayer());
      values.put("worst_rel_error", totals.worstLayer() != null ? totals.worstRelError() : null);
    }
    return row(StatsSchema.ADAPTERS, values);
  }
}
