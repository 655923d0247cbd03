package org.loraquant.codec;

/**
 * A compressed layer and the statistics of its compression. Serializable: the nightly job
 * shuffles these from the layer tasks to the assembly tasks.
 */
public record CompressedLayerResult(CompressedLayer layer, LayerStats stats)
    implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
}
