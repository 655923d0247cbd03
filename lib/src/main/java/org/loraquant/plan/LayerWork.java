package org.loraquant.plan;

import java.io.Serializable;

/**
 * One LoRA layer to compress: the adapter it belongs to (relative path), its module path and the
 * bytes of its two factors in the input, the measure of its cost (reading and the O((m + n) r^2)
 * SVD both grow with it).
 */
public record LayerWork(String adapter, String module, long bytes) implements Serializable {
  public LayerWork {
    if (bytes < 0) {
      throw new IllegalArgumentException(adapter + " " + module + ": negative size " + bytes);
    }
  }
}
