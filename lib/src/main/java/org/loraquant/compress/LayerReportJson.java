package org.loraquant.compress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.LayerStats;

/**
 * The JSON form of a {@link LayerReport}: one object per layer in {@code compress --stats} files
 * and in the manifest sidecar. Field names are those of the Parquet stats table, except for the
 * settings whose JSON key and stats column differ ({@link CodecSetting}: {@code refinement} here,
 * {@code refine} there) and {@code nanos} (the table has {@code seconds}).
 */
public final class LayerReportJson {
  private LayerReportJson() {}

  public static ObjectNode toJson(LayerReport r, CodecSettings settings) {
    LayerStats s = r.stats();
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("module", r.module());
    o.put("module_kind", r.moduleKind());
    Integer index = r.layerIndex();
    if (index == null) {
      o.putNull("layer_index");
    } else {
      o.put("layer_index", index);
    }
    o.put("m", s.m());
    o.put("n", s.n());
    o.put("rank", s.rank());
    o.put("k", s.k());
    o.put("h", s.h());
    o.put(CodecSetting.BITS_HIGH.jsonKey(), settings.bitsHigh());
    o.put(CodecSetting.RHO.jsonKey(), settings.rho());
    o.put(CodecSetting.GROUP_SIZE.jsonKey(), settings.groupSize());
    o.put(CodecSetting.SPLIT.jsonKey(), settings.splitRule().name().toLowerCase(Locale.ROOT));
    o.put(CodecSetting.REFINE.jsonKey(), settings.refinement().name().toLowerCase(Locale.ROOT));
    o.put("payload_bits", s.payloadBits());
    o.put("effective_bits", s.effectiveBits());
    o.put("params", s.params());
    o.put("bytes_in", r.bytesIn());
    o.put("bytes_out", r.bytesOut());
    o.put("rel_error", s.relError());
    o.put("error_high", s.errorHigh());
    o.put("error_low", s.errorLow());
    o.put("energy_high", s.highEnergyShare());
    o.put("zero_update", s.zeroUpdate());
    ArrayNode sv = o.putArray("singular_values");
    for (float v : s.singularValues()) {
      sv.add(v);
    }
    o.put("nanos", s.nanos());
    return o;
  }

  /**
   * The {@code compress --stats} line of a paper-mode layer: {@link #toJson} plus the columns the
   * budget mode's lines have (issue 18), so both modes' lines can be read together: mode "paper",
   * levels "uniform", no budget, each component's width from the two tiers (h at bits_high, the
   * rest at 1 bit) and every component kept. Not in the manifest, which stays as version 1 wrote it.
   */
  public static ObjectNode toStatsLine(LayerReport r, CodecSettings settings) {
    ObjectNode o = toJson(r, settings);
    LayerStats s = r.stats();
    o.put("mode", "paper");
    o.put(CodecSetting.LEVELS.jsonKey(), "uniform");
    o.putNull(CodecSetting.BUDGET.jsonKey());
    ArrayNode widths = o.putArray("bits_per_component");
    for (int i = 0; i < s.k(); i++) {
      widths.add(i < s.h() ? settings.bitsHigh() : 1);
    }
    o.put("components_kept", s.k());
    return o;
  }

  /** Parses what {@link #toJson} wrote. */
  public static LayerReport fromJson(JsonNode o) {
    JsonNode svNode = o.path("singular_values");
    float[] sv = new float[svNode.size()];
    for (int i = 0; i < sv.length; i++) {
      sv[i] = svNode.get(i).floatValue();
    }
    LayerStats stats = new LayerStats(o.path("m").asInt(), o.path("n").asInt(), o.path("rank").asInt(),
        o.path("k").asInt(), o.path("h").asInt(), sv, o.path("energy_high").asDouble(),
        o.path("payload_bits").asLong(), o.path("params").asLong(), o.path("effective_bits").asLong(),
        o.path("rel_error").asDouble(), o.path("error_high").asDouble(), o.path("error_low").asDouble(),
        o.path("zero_update").asBoolean(), o.path("nanos").asLong());
    return new LayerReport(o.path("module").asText(), stats, o.path("bytes_in").asLong(), o.path("bytes_out").asLong());
  }
}
