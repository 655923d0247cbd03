package org.loraquant.stats;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.loraquant.codec.BudgetLayerStats;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.CompressionSettings;
import org.loraquant.codec.LayerStats;
import org.loraquant.compress.BudgetCompressionResult;
import org.loraquant.compress.LayerReport;
import org.loraquant.compress.ModuleNames;

/**
 * One compressed layer's figures, whatever the codec mode, as its {@code layers} row gives them:
 * values by stats column name ({@link StatsSchema#LAYERS}), without the row's origin (run,
 * adapter, input fingerprint). Columns a mode has no value for are absent (null in the row).
 */
public record LayerFigures(String module, Map<String, Object> columns) implements Serializable {
  private static final long serialVersionUID = 1L;

  static final String ZERO_UPDATE_MESSAGE =
      "all-zero update (B A = 0): stored exactly, rel_error 0 by definition";

  public LayerFigures {
    columns = Collections.unmodifiableMap(new LinkedHashMap<>(columns));
  }

  /** A paper-mode layer (format version 1). */
  public static LayerFigures paper(LayerReport report, CodecSettings settings) {
    LayerStats s = report.stats();
    Map<String, Object> c = common(report.module(), settings, s.m(), s.n(), s.rank(), s.k());
    int[] widths = new int[s.k()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = i < s.h() ? settings.bitsHigh() : 1;
    }
    c.put("h", s.h());
    c.put("singular_values", s.singularValues());
    c.put("energy_high", s.highEnergyShare());
    c.put("payload_bits", s.payloadBits());
    c.put("error_high", s.errorHigh());
    c.put("error_low", s.errorLow());
    c.put("bits_per_component", widths);
    c.put("components_kept", s.k());
    return outcome(report.module(), c, s.effectiveBits(), s.params(), report.bytesIn(),
        report.bytesOut(), s.relError(), report.seconds(), s.zeroUpdate());
  }

  /** A budget-mode layer (format version 2) as the codec reported it. */
  public static LayerFigures budget(BudgetCompressionResult.Layer layer, BudgetSettings settings) {
    BudgetLayerStats s = layer.stats();
    return budget(layer.module(), settings, s.m(), s.n(), s.rank(), s.widths(), s.kept(),
        layer.effectiveBits(), s.params(), layer.bytesIn(), layer.bytesOut(), s.relError(),
        s.nanos() / 1e9, s.zeroUpdate());
  }

  /** A budget-mode layer from its manifest line ({@link BudgetCompressionResult.Layer#toJson}). */
  public static LayerFigures budget(JsonNode line, BudgetSettings settings) {
    JsonNode w = line.path("bits_per_component");
    int[] widths = new int[w.size()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = w.get(i).asInt();
    }
    return budget(line.path("module").asText(), settings, line.path("m").asInt(),
        line.path("n").asInt(), line.path("rank").asInt(), widths,
        line.path("components_kept").asInt(), line.path("effective_bits").asLong(),
        line.path("params").asLong(), line.path("bytes_in").asLong(),
        line.path("bytes_out").asLong(), line.path("rel_error").asDouble(),
        line.path("nanos").asLong() / 1e9, line.path("zero_update").asBoolean());
  }

  private static LayerFigures budget(String module, BudgetSettings settings, int m, int n,
      int rank, int[] widths, int kept, long effectiveBits, long params, long bytesIn,
      long bytesOut, double relError, double seconds, boolean zeroUpdate) {
    Map<String, Object> c = common(module, settings, m, n, rank, widths.length);
    long payload = 0;
    for (int width : widths) {
      payload += (long) width * (m + n);
    }
    c.put("payload_bits", payload);
    c.put("bits_per_component", widths.clone());
    c.put("components_kept", kept);
    return outcome(module, c, effectiveBits, params, bytesIn, bytesOut, relError, seconds,
        zeroUpdate);
  }

  private static Map<String, Object> common(String module, CompressionSettings settings, int m,
      int n, int rank, int k) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("module", module);
    c.put("module_kind", ModuleNames.kind(module));
    c.put("layer_index", ModuleNames.layerIndex(module));
    c.put("m", m);
    c.put("n", n);
    c.put("rank", rank);
    c.put("k", k);
    c.put("mode", settings.modeName());
    for (CodecSetting setting : CodecSetting.values()) {
      c.put(setting.statsColumn(), settings.value(setting));
    }
    return c;
  }

  private static LayerFigures outcome(String module, Map<String, Object> c, long effectiveBits,
      long params, long bytesIn, long bytesOut, double relError, double seconds,
      boolean zeroUpdate) {
    c.put("effective_bits", effectiveBits);
    c.put("params", params);
    c.put("bytes_in", bytesIn);
    c.put("bytes_out", bytesOut);
    c.put("rel_error", relError);
    c.put("seconds", seconds);
    c.put("status", zeroUpdate ? "zero_update" : "compressed");
    c.put("message", zeroUpdate ? ZERO_UPDATE_MESSAGE : null);
    return new LayerFigures(module, c);
  }

  public long params() {
    return ((Number) columns.get("params")).longValue();
  }

  public long payloadBits() {
    return ((Number) columns.get("payload_bits")).longValue();
  }

  public long effectiveBits() {
    return ((Number) columns.get("effective_bits")).longValue();
  }

  public double relError() {
    return ((Number) columns.get("rel_error")).doubleValue();
  }

  public double seconds() {
    return ((Number) columns.get("seconds")).doubleValue();
  }
}
