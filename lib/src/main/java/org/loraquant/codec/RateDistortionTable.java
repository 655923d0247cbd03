package org.loraquant.codec;

/**
 * What each component of one layer would cost and leave as error at each width (docs/ALGORITHM.md,
 * "Budget mode", step B1): D_i(b), the squared error of component i's product b_i a_i quantized at
 * b bits, and R(b), every bit the format stores for a component at b bits.
 *
 * <p>D_i(b) = |b_i|^2 |a_i|^2 + |b^_i|^2 |a^_i|^2 - 2 (b_i . b^_i)(a_i . a^_i), exactly
 * ||b_i a_i - b^_i a^_i||_F^2; D_i(0) = s_i^2 (the component dropped). The components' exact
 * products are orthogonal, but their quantization errors are not quite, so the layer's error is
 * close to, not exactly, the sum of its D_i; the codec measures the layer's true error afterwards
 * ({@link ComponentErrorModel}).
 *
 * <p>R(b) is the same for every component of the layer: for b >= 1 the codes of b_i and a_i (b bits
 * per value), one binary16 scale per group and, for the uniform family, one 8-bit zero point per
 * group; for every b including 0, the component's entry of the width map ({@link #WIDTH_MAP_BITS}).
 * The layer's fixed side information is {@link #LAYER_FIXED_BITS}.
 *
 * <p>A component's table stops at the first width whose error is negligible
 * ({@link #NEGLIGIBLE_SHARE} of the layer's energy): a wider code could not lower the error by
 * anything that counts. A component whose energy is already negligible is dropped outright
 * (width 0 only) unless it is the first, which the allocator's guard keeps at 2 bits or more, so
 * its table always reaches width 2.
 *
 * <p>Public and Serializable only so that a Spark job can hold tables on its executors for the
 * fleet budget ({@link FleetAllocator}); everything else about it stays inside the codec.
 */
public final class RateDistortionTable implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  static final int MAX_WIDTH = 8;
  /** Width the allocator's guard keeps the first component of every layer at, at least. */
  static final int GUARD_WIDTH = 2;
  /** One byte per component: its width 0..8. */
  static final int WIDTH_MAP_BITS = 8;
  /**
   * The layer's fixed side information in format v2: the header allowance of v1
   * ({@link LayerStats#LAYER_HEADER_BITS}), the level family (one byte) and the CRC-32C of the
   * layer's stored bytes (four bytes).
   */
  static final long LAYER_FIXED_BITS = LayerStats.LAYER_HEADER_BITS + 8 + 32;
  /** Error below this share of the layer's energy counts as none. */
  static final double NEGLIGIBLE_SHARE = 1e-12;

  private final long params;
  private final double energy;
  private final double[][] distortion;
  private final long[] cost;

  /**
   * @param params r (m + n), the parameters of the layer's input factors
   * @param energy ||B A||_F^2
   * @param distortion per component, D_i(0..maxWidth_i); the first component's reaches width 2
   * @param cost R(0..8) of one component
   */
  RateDistortionTable(long params, double energy, double[][] distortion, long[] cost) {
    if (cost.length != MAX_WIDTH + 1) {
      throw new IllegalArgumentException("cost table needs widths 0.." + MAX_WIDTH);
    }
    for (int b = 1; b <= MAX_WIDTH; b++) {
      if (cost[b] <= cost[b - 1]) {
        throw new IllegalArgumentException("cost must rise with the width");
      }
    }
    if (distortion.length > 0 && distortion[0].length <= GUARD_WIDTH) {
      throw new IllegalArgumentException("the first component's table must reach width "
          + GUARD_WIDTH + " (the guard)");
    }
    this.params = params;
    this.energy = energy;
    this.distortion = distortion;
    this.cost = cost.clone();
  }

  /**
   * Quantizes every component of the layer at every width it needs (see the class comment): the
   * complete table, the plain reference for {@link LazyRateDistortion}, which computes the same
   * entries only where the allocation can use them.
   */
  static RateDistortionTable measure(BalancedLayer layer, LevelFamily family, int groupSize) {
    LazyRateDistortion lazy = new LazyRateDistortion(layer, family, groupSize, 0);
    for (int i = 0; i < layer.k(); i++) {
      lazy.extend(layer, i, MAX_WIDTH);
    }
    return lazy.relaxed();
  }

  /** R(0..8) of one component of an m x n layer. */
  static long[] costs(LevelFamily family, int m, int n, int groupSize) {
    long[] cost = new long[MAX_WIDTH + 1];
    cost[0] = WIDTH_MAP_BITS;
    for (int b = 1; b <= MAX_WIDTH; b++) {
      cost[b] = WIDTH_MAP_BITS + family.vectorBits(b, m, groupSize)
          + family.vectorBits(b, n, groupSize);
    }
    return cost;
  }

  /**
   * D_i(width) for width >= 1: component i quantized at that width; {@code bRecon} (m values) and
   * {@code aRecon} (n values) are scratch. With {@code kept} (two slots), the codes of B' and A'
   * are kept there; without, only the values are computed. {@code bRms} and {@code aRms} are the
   * {@link VectorQuantizer#rmsScales} of the component's B' column and A' row, or null (computed
   * where needed).
   */
  static double componentError(BalancedLayer layer, LevelFamily family, int groupSize, int i,
      int width, short[] bRms, short[] aRms, double[] bRecon, double[] aRecon, VectorCode[] kept) {
    int m = layer.m();
    int n = layer.n();
    double[] b = layer.bp();
    double[] a = layer.ap();
    if (kept != null) {
      kept[0] = VectorQuantizer.quantize(family, width, groupSize, b, i * m, m, bRms, bRecon, 0);
      kept[1] = VectorQuantizer.quantize(family, width, groupSize, a, i * n, n, aRms, aRecon, 0);
    } else {
      VectorQuantizer.reconstruct(family, width, groupSize, b, i * m, m, bRms, bRecon, 0);
      VectorQuantizer.reconstruct(family, width, groupSize, a, i * n, n, aRms, aRecon, 0);
    }
    return productError(layer.s()[i], layer.bp(), i * m, bRecon, m, layer.ap(), i * n, aRecon, n);
  }

  /**
   * ||b a - b^ a^||_F^2 for one component, with |b|^2 = |a|^2 = s (balanced factors); clamped at
   * 0 against cancellation. Each of the four sums runs in index order; the B and A sums share one
   * loop over their common length (four independent chains of additions instead of two, which
   * the loop otherwise waits on), the same numbers.
   */
  private static double productError(double s, double[] b, int bOff, double[] bh, int m,
      double[] a, int aOff, double[] ah, int n) {
    double bb = 0;
    double bhb = 0;
    double aa = 0;
    double aha = 0;
    int both = Math.min(m, n);
    for (int t = 0; t < both; t++) {
      bb += bh[t] * bh[t];
      bhb += b[bOff + t] * bh[t];
      aa += ah[t] * ah[t];
      aha += a[aOff + t] * ah[t];
    }
    for (int t = both; t < m; t++) {
      bb += bh[t] * bh[t];
      bhb += b[bOff + t] * bh[t];
    }
    for (int t = both; t < n; t++) {
      aa += ah[t] * ah[t];
      aha += a[aOff + t] * ah[t];
    }
    return Math.max(0, s * s + bb * aa - 2 * bhb * aha);
  }

  int components() {
    return distortion.length;
  }

  long params() {
    return params;
  }

  double energy() {
    return energy;
  }

  /** The widest width component i's table holds (0 when it can only be dropped). */
  int maxWidth(int i) {
    return distortion[i].length - 1;
  }

  /** The narrowest width component i may take: {@link #GUARD_WIDTH} for the first, else 0. */
  int minWidth(int i) {
    return i == 0 ? GUARD_WIDTH : 0;
  }

  double distortion(int i, int width) {
    return distortion[i][width];
  }

  long cost(int width) {
    return cost[width];
  }

  /** Bits the layer stores with these widths: fixed side information plus each component's R. */
  long storedBits(int[] widths) {
    long bits = LAYER_FIXED_BITS;
    for (int w : widths) {
      bits += cost[w];
    }
    return bits;
  }

  /** The layer's smallest possible storage: the first component at the guard width, no other. */
  long minimumBits() {
    if (components() == 0) {
      return LAYER_FIXED_BITS;
    }
    return LAYER_FIXED_BITS + cost[GUARD_WIDTH] + (long) (components() - 1) * cost[0];
  }
}
