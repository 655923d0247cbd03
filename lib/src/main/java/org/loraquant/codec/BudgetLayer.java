package org.loraquant.codec;

/**
 * A layer compressed by the budget mode: the shape, the level family and group size, and per
 * component i (0 .. k-1) its width {@code widths[i]} (0 = dropped) with the codes of column i of
 * B' ({@code b[i]}, length m) and row i of A' ({@code a[i]}, length n); null where the width is 0.
 * When k < rank, decompression pads with zero components back to the rank, as in the paper mode.
 */
public record BudgetLayer(int m, int n, int rank, LevelFamily levels, int groupSize, int[] widths,
    VectorCode[] b, VectorCode[] a) implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  public BudgetLayer {
    if (m < 0 || n < 0 || rank < 0 || widths.length > Math.min(rank, Math.min(m, n))
        || groupSize < 1 || levels == null) {
      throw new IllegalArgumentException("invalid budget layer: " + m + " x " + n + ", rank "
          + rank + ", " + widths.length + " components, group " + groupSize);
    }
    if (b.length != widths.length || a.length != widths.length) {
      throw new IllegalArgumentException("codes for " + b.length + " / " + a.length
          + " components, widths for " + widths.length);
    }
    for (int i = 0; i < widths.length; i++) {
      if (widths[i] < 0 || widths[i] > RateDistortionTable.MAX_WIDTH) {
        throw new IllegalArgumentException("component " + i + ": width " + widths[i] + " outside 0..8");
      }
      if (widths[i] == 0) {
        if (b[i] != null || a[i] != null) {
          throw new IllegalArgumentException("component " + i + " is dropped but has codes");
        }
        continue;
      }
      requireShape(i, "B'", b[i], widths[i], m, groupSize, levels);
      requireShape(i, "A'", a[i], widths[i], n, groupSize, levels);
    }
  }

  private static void requireShape(int i, String side, VectorCode code, int width, int length,
      int groupSize, LevelFamily levels) {
    int groups = GroupGeometry.groupsPerVector(length, groupSize);
    if (code == null || code.bits() != width || code.codes().length != length
        || code.scales().length != groups
        || code.zeros().length != (levels.hasZeroPoints(width) ? groups : 0)) {
      throw new IllegalArgumentException("component " + i + " of " + side
          + ": codes do not match width " + width + ", length " + length + ", group " + groupSize);
    }
  }

  public int k() {
    return widths.length;
  }

  /** B^ (m x k) and A^ (k x n), row-major, exactly as the codec measured them. */
  public DecodedLayer decode() {
    int k = k();
    float[] bh = new float[Math.multiplyExact(m, k)];
    float[] ah = new float[Math.multiplyExact(k, n)];
    for (int i = 0; i < k; i++) {
      if (widths[i] == 0) {
        continue;
      }
      VectorQuantizer.decode(levels, b[i], groupSize, m, bh, i, k);
      VectorQuantizer.decode(levels, a[i], groupSize, n, ah, i * n, 1);
    }
    return new DecodedLayer(m, n, rank, k, bh, ah);
  }

  /** Components stored (width above 0). */
  public int kept() {
    int kept = 0;
    for (int w : widths) {
      kept += w > 0 ? 1 : 0;
    }
    return kept;
  }
}
