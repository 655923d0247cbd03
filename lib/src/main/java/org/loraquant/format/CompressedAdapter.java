package org.loraquant.format;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import org.loraquant.codec.CompressedLayer;

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

  /** One compressed LoRA module and where it came from. */
  public record Layer(String module, SourceFactors source, CompressedLayer layer) {}
}
