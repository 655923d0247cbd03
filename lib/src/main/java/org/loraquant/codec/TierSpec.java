package org.loraquant.codec;

/** One planned precision tier: SVD components {@code [first, first + count)} at {@code bits}. */
public record TierSpec(int bits, int first, int count) {
  public TierSpec {
    if (bits < 1 || bits > 8 || first < 0 || count < 1) {
      throw new IllegalArgumentException("invalid tier: bits=" + bits + " first=" + first
          + " count=" + count);
    }
  }
}
