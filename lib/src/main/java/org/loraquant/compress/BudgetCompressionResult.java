package org.loraquant.compress;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.List;
import org.loraquant.codec.BudgetLayerStats;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSetting;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.CompressedFormat;
import org.loraquant.format.JsonOutput;

/**
 * A budget-mode (format version 2) compressed adapter with the report of each of its layers, in
 * module order: the budget mode's counterpart of {@link CompressionResult}.
 */
public record BudgetCompressionResult(CompressedAdapter adapter, BudgetSettings settings, List<Layer> layers) {
  private static final ObjectMapper JSON = JsonOutput.indented();

  public BudgetCompressionResult {
    layers = List.copyOf(layers);
  }

  /**
   * One layer's figures.
   *
   * @param stats the codec's figures (widths, error measured after the refit)
   * @param bytesIn bytes of the source lora_A and lora_B tensors
   * @param bytesOut bytes of the layer's tensors in the compressed file; 8 x this is its exact
   *     effective bits, never more than the codec's count {@code stats.storedBits()}
   */
  public record Layer(String module, BudgetLayerStats stats, long bytesIn, long bytesOut) {
    public long effectiveBits() {
      return 8 * bytesOut;
    }

    /** The stats line ({@code compress --stats}, the manifest): the paper mode's names where they apply. */
    public ObjectNode toJson(BudgetSettings settings) {
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      o.put("module", module);
      o.put("module_kind", ModuleNames.kind(module));
      Integer index = ModuleNames.layerIndex(module);
      if (index == null) {
        o.putNull("layer_index");
      } else {
        o.put("layer_index", index);
      }
      o.put("mode", CompressedFormat.MODE_BUDGET);
      o.put(CodecSetting.LEVELS.jsonKey(), BudgetSettings.levelsName(settings.levels()));
      o.put(CodecSetting.BUDGET.jsonKey(), settings.budgetBits());
      o.put(CodecSetting.BUDGET_SCOPE.jsonKey(), BudgetSettings.scopeName(settings.scope()));
      if (settings.weightName() != null) {
        o.put(CodecSetting.BUDGET_WEIGHT.jsonKey(), settings.weightName());
      }
      o.put(CodecSetting.REFIT.jsonKey(), settings.refit());
      o.put("refit_steps", stats.refitSteps());
      o.put("m", stats.m());
      o.put("n", stats.n());
      o.put("rank", stats.rank());
      o.put("k", stats.k());
      o.put(CodecSetting.GROUP_SIZE.jsonKey(), settings.groupSize());
      ArrayNode widths = o.putArray("bits_per_component");
      for (int w : stats.widths()) {
        widths.add(w);
      }
      o.put("components_kept", stats.kept());
      o.put("effective_bits", effectiveBits());
      o.put("params", stats.params());
      o.put("bytes_in", bytesIn);
      o.put("bytes_out", bytesOut);
      o.put("rel_error", stats.relError());
      o.put("zero_update", stats.zeroUpdate());
      o.put("nanos", stats.nanos());
      return o;
    }
  }

  public long params() {
    return layers.stream().mapToLong(l -> l.stats().params()).sum();
  }

  public long effectiveBits() {
    return layers.stream().mapToLong(Layer::effectiveBits).sum();
  }

  /** The adapter's relative error: errors of different layers add as squared norms. */
  public double relError() {
    double error = 0;
    double energy = 0;
    for (Layer l : layers) {
      error += l.stats().squaredError();
      energy += l.stats().energy();
    }
    return energy == 0 ? 0 : Math.sqrt(error / energy);
  }

  /**
   * The manifest of the version 2 folder: as version 1's ({@link CompressionManifest}), with the
   * budget-mode stats lines under {@code layers}.
   *
   * @param inputFingerprint the input's fingerprint, or null when the writer had none (CLI)
   */
  public byte[] manifestJson(String inputFingerprint) throws IOException {
    return manifestJson(inputFingerprint, java.util.Map.of());
  }

  /**
   * As {@link #manifestJson(String)}, with who wrote it: the job's run_id, run_date and
   * finished_at, in key order as version 1's manifest writes them.
   */
  public byte[] manifestJson(String inputFingerprint, java.util.Map<String, String> run)
      throws IOException {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode layerNodes =
        CompressionManifest.header(
            root,
            CompressedFormat.BUDGET_FORMAT_VERSION,
            settings.fingerprint(),
            inputFingerprint,
            run);
    for (Layer layer : layers) {
      layerNodes.add(layer.toJson(settings));
    }
    return JSON.writeValueAsBytes(root);
  }
}
