package org.loraquant.codec;

/**
 * One precision tier of a layer: SVD components {@code [first, first + count)} quantized at
 * {@code bits}. {@code b} holds those columns of B' (vectors = count, length = m) and {@code a}
 * those rows of A' (vectors = count, length = n). Today a layer has two tiers (high: components
 * 0..h-1 at bits_high; low: h..k-1 at 1 bit); the format allows more.
 */
public record QuantTier(int bits, int first, int count, PackedGroups b, PackedGroups a)
    implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  public QuantTier {
    if (b.bits() != bits || a.bits() != bits) {
      throw new IllegalArgumentException("tier bits " + bits + " differ from its packed groups");
    }
    if (b.vectors() != count || a.vectors() != count) {
      throw new IllegalArgumentException("tier of " + count + " components has packed groups of "
          + b.vectors() + " / " + a.vectors() + " vectors");
    }
  }
}
