package org.loraquant.stats;

import java.util.List;
import java.util.Map;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.loraquant.codec.CodecSetting;

/**
 * The two statistics tables, column by column as docs/STATS.md describes them (a test keeps the two
 * in step). Standard Parquet types only; {@link #PARQUET_SPARK_CONF} must be set on the session
 * that writes them so timestamps are INT64 micros rather than the legacy INT96.
 */
public final class StatsSchema {
  private StatsSchema() {}

  /** Partition column of both tables (a Hive-style folder, not a column in the files). */
  public static final String PARTITION_COLUMN = "run_date";

  /** Spark settings the writer needs for standard Parquet types. */
  public static final Map<String, String> PARQUET_SPARK_CONF =
      Map.of(
          "spark.sql.parquet.outputTimestampType",
          "TIMESTAMP_MICROS",
          "spark.sql.parquet.writeLegacyFormat",
          "false");

  public static final List<String> LAYER_STATUSES = List.of("compressed", "zero_update");
  public static final List<String> ADAPTER_STATUSES =
      List.of("compressed", "skipped", "incomplete", "failed");

  public static final StructType LAYERS =
      new StructType(
          new StructField[] {
            required("run_id", DataTypes.StringType),
            required("run_date", DataTypes.DateType),
            required("adapter", DataTypes.StringType),
            required("input_fingerprint", DataTypes.StringType),
            required("module", DataTypes.StringType),
            required("module_kind", DataTypes.StringType),
            optional("layer_index", DataTypes.IntegerType),
            required("m", DataTypes.IntegerType),
            required("n", DataTypes.IntegerType),
            required("rank", DataTypes.IntegerType),
            required("k", DataTypes.IntegerType),
            optional("h", DataTypes.IntegerType),
            setting(CodecSetting.RHO),
            setting(CodecSetting.BITS_HIGH),
            setting(CodecSetting.GROUP_SIZE),
            setting(CodecSetting.SPLIT),
            setting(CodecSetting.REFINE),
            optional("singular_values", DataTypes.createArrayType(DataTypes.FloatType, false)),
            optional("energy_high", DataTypes.DoubleType),
            required("payload_bits", DataTypes.LongType),
            required("effective_bits", DataTypes.LongType),
            required("params", DataTypes.LongType),
            required("bytes_in", DataTypes.LongType),
            required("bytes_out", DataTypes.LongType),
            required("rel_error", DataTypes.DoubleType),
            optional("error_high", DataTypes.DoubleType),
            optional("error_low", DataTypes.DoubleType),
            required("seconds", DataTypes.DoubleType),
            required("status", DataTypes.StringType),
            optional("message", DataTypes.StringType),
            // Issue 18 (budget mode): added columns, null in rows written before them.
            optional("mode", DataTypes.StringType),
            setting(CodecSetting.BUDGET),
            setting(CodecSetting.BUDGET_SCOPE),
            setting(CodecSetting.LEVELS),
            setting(CodecSetting.REFIT),
            optional("bits_per_component", DataTypes.createArrayType(DataTypes.IntegerType, false)),
            optional("components_kept", DataTypes.IntegerType),
            // issue 20: the fleet scope's weight, null in the other scopes and older rows
            setting(CodecSetting.BUDGET_WEIGHT),
          });

  public static final StructType ADAPTERS =
      new StructType(
          new StructField[] {
            required("run_id", DataTypes.StringType),
            required("run_date", DataTypes.DateType),
            required("adapter", DataTypes.StringType),
            required("input_fingerprint", DataTypes.StringType),
            required("status", DataTypes.StringType),
            optional("message", DataTypes.StringType),
            optional("output_run_id", DataTypes.StringType),
            setting(CodecSetting.RHO),
            setting(CodecSetting.BITS_HIGH),
            setting(CodecSetting.GROUP_SIZE),
            setting(CodecSetting.SPLIT),
            setting(CodecSetting.REFINE),
            optional("layers", DataTypes.IntegerType),
            optional("params", DataTypes.LongType),
            required("bytes_in", DataTypes.LongType),
            optional("bytes_out", DataTypes.LongType),
            optional("compression_ratio", DataTypes.DoubleType),
            optional("payload_bits", DataTypes.LongType),
            optional("effective_bits", DataTypes.LongType),
            optional("payload_bits_per_param", DataTypes.DoubleType),
            optional("effective_bits_per_param", DataTypes.DoubleType),
            optional("weighted_rel_error", DataTypes.DoubleType),
            optional("worst_layer", DataTypes.StringType),
            optional("worst_rel_error", DataTypes.DoubleType),
            required("seconds", DataTypes.DoubleType),
            required("recorded_from", DataTypes.StringType),
            required("finished_at", DataTypes.TimestampType),
            optional("requests", DataTypes.LongType),
            optional("bytes_read", DataTypes.LongType),
            // Issue 18 (budget mode): added columns, null in rows written before them.
            optional("mode", DataTypes.StringType),
            setting(CodecSetting.BUDGET),
            setting(CodecSetting.BUDGET_SCOPE),
            setting(CodecSetting.LEVELS),
            setting(CodecSetting.REFIT),
            // issue 22: bits that grow with the adapter apart from the bytes that do not
            optional("tensor_bits", DataTypes.LongType),
            optional("tensor_bits_per_param", DataTypes.DoubleType),
            optional("overhead_bytes", DataTypes.LongType),
            optional("fixed_file_bytes", DataTypes.LongType),
            // issue 20: the fleet scope's weight, null in the other scopes and older rows
            setting(CodecSetting.BUDGET_WEIGHT),
            // issue 20: the multiplier of the fleet allocation that made the output
            optional("budget_lambda", DataTypes.DoubleType),
          });

  /**
   * The column of a codec setting, named and typed by its declaration ({@link CodecSetting}):
   * nullable unless both modes have the setting.
   */
  private static StructField setting(CodecSetting setting) {
    DataType type =
        switch (setting.type()) {
          case DOUBLE -> DataTypes.DoubleType;
          case INT -> DataTypes.IntegerType;
          case NAME -> DataTypes.StringType;
        };
    return setting.mode() == CodecSetting.Mode.BOTH
        ? required(setting.statsColumn(), type)
        : optional(setting.statsColumn(), type);
  }

  private static StructField required(String name, DataType type) {
    return DataTypes.createStructField(name, type, false);
  }

  private static StructField optional(String name, DataType type) {
    return DataTypes.createStructField(name, type, true);
  }
}
