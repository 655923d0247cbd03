package org.loraquant.compress;

import java.util.List;
import org.loraquant.codec.CodecSettings;
import org.loraquant.format.CompressedAdapter;

/** A compressed adapter with the report of each of its layers, in module order. */
public record CompressionResult(CompressedAdapter adapter, CodecSettings settings, List<LayerReport> layers) {
  public CompressionResult {
    layers = List.copyOf(layers);
  }

  public long params() {
    return layers.stream().mapToLong(l -> l.stats().params()).sum();
  }

  public long payloadBits() {
    return layers.stream().mapToLong(l -> l.stats().payloadBits()).sum();
  }

  public long effectiveBits() {
    return layers.stream().mapToLong(l -> l.stats().effectiveBits()).sum();
  }

  /** rel_error weighted by each layer's parameter count. */
  public double weightedRelError() {
    long params = params();
    if (params == 0) {
      return 0;
    }
    double sum = 0;
    for (LayerReport l : layers) {
      sum += l.stats().relError() * l.stats().params();
    }
    return sum / params;
  }
}
