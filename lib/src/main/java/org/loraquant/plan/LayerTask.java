package org.loraquant.plan;

import java.io.Serializable;
import java.util.List;

/**
 * One unit of work for an executor: layers, sorted by adapter, then as they lie in the adapter's
 * file, and their bytes.
 */
public record LayerTask(int id, List<LayerWork> layers, long bytes) implements Serializable {
  public LayerTask {
    layers = List.copyOf(layers);
  }
}
