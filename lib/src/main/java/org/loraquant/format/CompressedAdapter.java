package org.loraquant.format;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import org.loraquant.codec.BudgetLayer;
import org.loraquant.codec.CompressedLayer;
import org.loraquant.codec.DecodedLayer;
import org.loraquant.codec.LoraQuantCodec;

/**
 * A compressed adapter in memory: everything the compressed folder holds except the manifest.
 *
 * @param config the source adapter_config.json, every key kept, WITHOUT the loraquant block
 * @param codec the codec settings block written under {@link CompressedFormat#CONFIG_BLOCK}
 * @param sourceMetadata the source safetensors file's {@code __metadata__} (may be empty)
 * @param layers compressed LoRA layers, one per module
 * @param passThrough every other tensor of the source file, bytes exactly as they came
 */
public record CompressedAdapter(
    ObjectNode config,
    ObjectNode codec,
    Map<String, String> sourceMetadata,
    List<Layer> layers,
    List<NamedTensor> passThrough) {

  public CompressedAdapter {
    sourceMetadata = Map.copyOf(sourceMetadata);
    layers = List.copyOf(layers);
    passThrough = List.copyOf(passThrough);
  }

  /**
   * The format version the folder is written in: 2 when the codec block says {@code "mode":
   * "budget"}, else 1. Every layer must be of that version's kind ({@link Layer}).
   */
  public int formatVersion() {
    com.fasterxml.jackson.databind.JsonNode mode = codec.get(CompressedFormat.CONFIG_MODE);
    return mode != null && CompressedFormat.MODE_BUDGET.equals(mode.asText())
        ? CompressedFormat.BUDGET_FORMAT_VERSION : CompressedFormat.FORMAT_VERSION;
  }

  /**
   * One compressed LoRA module and where it came from: a paper-mode layer ({@code layer}, format
   * version 1) or a budget-mode layer ({@code budget}, version 2), exactly one of them non-null.
   */
  public record Layer(String module, SourceFactors source, CompressedLayer layer, BudgetLayer budget) {
    public Layer {
      if ((layer == null) == (budget == null)) {
        throw new IllegalArgumentException("module " + module
            + ": exactly one of a paper-mode and a budget-mode layer must be given");
      }
    }

    /** A paper-mode (version 1) layer. */
    public Layer(String module, SourceFactors source, CompressedLayer layer) {
      this(module, source, layer, null);
    }

    /** A budget-mode (version 2) layer. */
    public Layer(String module, SourceFactors source, BudgetLayer budget) {
      this(module, source, null, budget);
    }

    public int formatVersion() {
      return budget != null ? CompressedFormat.BUDGET_FORMAT_VERSION : CompressedFormat.FORMAT_VERSION;
    }

    public int m() {
      return budget != null ? budget.m() : layer.m();
    }

    public int n() {
      return budget != null ? budget.n() : layer.n();
    }

    public int rank() {
      return budget != null ? budget.rank() : layer.rank();
    }

    /** B^ (m x k) and A^ (k x n) as stored. */
    public DecodedLayer decode() {
      return budget != null ? budget.decode() : LoraQuantCodec.decode(layer);
    }

    /** The layer's tensors in the compressed file, in the layout of its version. */
    public List<NamedTensor> tensors() {
      return budget != null ? BudgetLayerLayout.toTensors(module, budget)
          : CompressedLayerLayout.toTensors(module, layer);
    }
  }
}
