package org.loraquant.codec;

/** Optional refinement of the quantization parameters after round-to-nearest (docs/ALGORITHM.md step 6). */
public enum Refinement {
  /** Plain round-to-nearest with min/max ranges (high tier) and mean-|x| scales (1-bit tier). */
  NONE,
  /**
   * Deterministic coordinate search over each group's clipping range (high tier) or scale (1-bit
   * tier) that minimises the layer's error ||B A - B^ A^||_F; starts from NONE and keeps a change
   * only when it lowers that error, so it is never worse than NONE.
   */
  SEARCH
}
