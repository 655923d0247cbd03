package org.loraquant.codec;

/**
 * A layer compressed by the budget mode: the shape, the level family and group size, and per
 * component i (0 .. k-1) its width {@code widths[i]} (0 = dropped) with the codes of column i of
 * B' ({@code b[i]}, length m) and row i of A' ({@code a[i]}, length n); null where the width is 0.
 * When k < rank, decompression pads with zero components back to the rank, as in the paper mode.
 */
public record BudgetLayer(int m, int n, int rank, LevelFamily levels, int groupSize, int[] widths,
    VectorCode[] b, VectorCode[] a) {
  int k() {
    return widths.length;
  }

  /** B^ (m x k) and A^ (k x n), row-major, exactly as the codec measured them. */
  DecodedLayer decode() {
    int k = k();
    float[] bh = new float[Math.multiplyExact(m, k)];
    float[] ah = new float[Math.multiplyExact(k, n)];
    float[] column = new float[m];
    for (int i = 0; i < k; i++) {
      if (widths[i] == 0) {
        continue;
      }
      VectorQuantizer.decode(levels, b[i], groupSize, m, column, 0);
      for (int x = 0; x < m; x++) {
        bh[x * k + i] = column[x];
      }
      VectorQuantizer.decode(levels, a[i], groupSize, n, ah, i * n);
    }
    return new DecodedLayer(m, n, rank, k, bh, ah);
  }

  /** Components stored (width above 0). */
  int kept() {
    int kept = 0;
    for (int w : widths) {
      kept += w > 0 ? 1 : 0;
    }
    return kept;
  }
}
