package org.loraquant.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.LayerStats;
import org.loraquant.compress.LayerReport;

/**
 * The adapters table's tensor_bits, tensor_bits_per_param, overhead_bytes and fixed_file_bytes
 * (issue 22): the layer records apart from the files every adapter carries, so a tiny adapter's
 * bits per parameter are not its config and manifest divided by a few parameters.
 */
class TensorBitsColumnsTest {
  private static final StatsRows.Origin ORIGIN =
      new StatsRows.Origin("20260301T000000Z-00000000", LocalDate.of(2026, 3, 1), "tiny", "fp");

  private static LayerFigures layer(String module, long params, long effectiveBits) {
    LayerStats stats =
        new LayerStats(
            8, 8, 4, 4, 2, new float[] {4, 3, 2, 1}, 0.8, 2 * params, params, effectiveBits, 0.1,
            0.05, 0.08, false, 1_000_000);
    return LayerFigures.paper(
        new LayerReport(module, stats, params * 2, effectiveBits / 8), CodecSettings.defaults());
  }

  private static Object column(Row row, String name) {
    return row.get(StatsSchema.ADAPTERS.fieldIndex(name));
  }

  @Test
  void tinyAdapterSplitsLayerRecordsFromTheFixedFiles() {
    List<LayerFigures> layers = List.of(layer("l.0.q_proj", 64, 800), layer("l.0.v_proj", 64, 960));
    AdapterTotals totals = AdapterTotals.of(layers);
    assertThat(totals.tensorBits()).isEqualTo(1760);
    long bytesOut = 20_000; // config, manifest and header outweigh 128 parameters
    Row row =
        StatsRows.adapter(
            ORIGIN, AdapterStatus.COMPRESSED, null, ORIGIN.runId(), CodecSettings.defaults(),
            totals, 1_000, bytesOut, 15_000L, 0.1, StatsRows.RECORDED_BY_RUN, Instant.EPOCH, null);
    assertThat(row.size()).isEqualTo(StatsSchema.ADAPTERS.size());
    assertThat(column(row, "tensor_bits")).isEqualTo(1760L);
    assertThat((double) column(row, "tensor_bits_per_param")).isEqualTo(1760.0 / 128);
    assertThat(column(row, "overhead_bytes")).isEqualTo(bytesOut - 220);
    // the config and manifest alone, as written; overhead_bytes also holds the model file's header
    assertThat(column(row, "fixed_file_bytes")).isEqualTo(15_000L);
    assertThat((double) column(row, "effective_bits_per_param")).isEqualTo(bytesOut * 8.0 / 128);
  }

  @Test
  void noOutputMeansNullColumns() {
    Row row =
        StatsRows.adapter(
            ORIGIN, AdapterStatus.FAILED, "bad", null, CodecSettings.defaults(), null, 1_000,
            null, null, 0.1, StatsRows.RECORDED_BY_RUN, Instant.EPOCH, null);
    for (String name : List.of("tensor_bits", "tensor_bits_per_param", "overhead_bytes", "fixed_file_bytes")) {
      assertThat(column(row, name)).as(name).isNull();
    }
  }
}
