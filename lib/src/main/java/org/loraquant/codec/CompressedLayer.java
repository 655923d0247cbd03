package org.loraquant.codec;

import java.util.List;

/**
 * A LoRA layer after LoRAQuant: the original shape (m x r times r x n), k = min(r, m, n)
 * components, h of them in the high tier, and the packed tiers in component order, covering
 * components 0..k-1 without gaps (a tier may be absent when it would be empty). Decoding the
 * tiers gives B^ (m x k) and A^ (k x n); when k < r the decompressed PEFT factors are padded with
 * zero components back to rank r.
 */
public record CompressedLayer(int m, int n, int rank, int k, int h, List<QuantTier> tiers)
    implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  public CompressedLayer {
    tiers = List.copyOf(tiers);
    int next = 0;
    for (QuantTier t : tiers) {
      if (t.first() != next) {
        throw new IllegalArgumentException("tiers must cover components 0.." + (k - 1)
            + " in order; a tier starts at " + t.first() + ", expected " + next);
      }
      if (t.b().length() != m || t.a().length() != n) {
        throw new IllegalArgumentException("tier vectors have lengths " + t.b().length() + "/"
            + t.a().length() + ", expected m=" + m + " n=" + n);
      }
      next += t.count();
    }
    if (next != k) {
      throw new IllegalArgumentException("tiers cover " + next + " components, expected k=" + k);
    }
  }
}
