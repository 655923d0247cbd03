package org.loraquant.codec;

/** A compressed layer and the statistics of its compression. */
public record CompressedLayerResult(CompressedLayer layer, LayerStats stats) {}
