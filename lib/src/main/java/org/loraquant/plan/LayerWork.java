package org.loraquant.plan;

import java.io.Serializable;

/**
 * One LoRA layer to compress: the adapter it belongs to (relative path), its module path, the
 * bytes of its two factors in the input, the measure of its cost (reading and the O((m + n) r^2)
 * SVD both grow with it), and where its factors start in the weights file, which orders an
 * adapter's layers as the file does (so neighbours in a task are neighbours on storage).
 */
public record LayerWork(String adapter, String module, long bytes, long position)
    implements Serializable {
  public LayerWork {
    if (bytes < 0) {
      throw new IllegalArgumentException(adapter + " " + module + ": negative size " + bytes);
    }
    if (position < 0) {
      throw new IllegalArgumentException(adapter + " " + module + ": negative position " + position);
    }
  }

  /** A layer whose place in the file does not matter (ordered by module name). */
  public LayerWork(String adapter, String module, long bytes) {
    this(adapter, module, bytes, 0);
  }
}
