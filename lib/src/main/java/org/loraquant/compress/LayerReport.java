package org.loraquant.compress;

import java.io.Serializable;
import org.loraquant.codec.LayerStats;

/**
 * One compressed LoRA layer's figures, as the CLI's --stats file, the manifest sidecar and the
 * Parquet stats table report them.
 *
 * @param module the module path
 * @param stats the codec's figures; {@code effectiveBits} is exact: 8 x the bytes the layer takes
 *     in the compressed file
 * @param bytesIn bytes of the source lora_A and lora_B tensors
 * @param bytesOut bytes of the layer's tensors in the compressed file
 */
public record LayerReport(String module, LayerStats stats, long bytesIn, long bytesOut) implements Serializable {
  private static final long serialVersionUID = 1L;

  public String moduleKind() {
    return ModuleNames.kind(module);
  }

  public Integer layerIndex() {
    return ModuleNames.layerIndex(module);
  }

  public double seconds() {
    return stats.nanos() / 1e9;
  }
}
