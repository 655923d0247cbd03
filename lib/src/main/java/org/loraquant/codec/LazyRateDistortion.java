package org.loraquant.codec;

import java.util.Arrays;

/**
 * One layer's {@link RateDistortionTable}, measured only as far as the allocation needs it
 * (docs/ALGORITHM.md, "Budget mode", "Measuring only the widths that can matter"). Quantizing a
 * component at one width costs as much at 8 bits as at 1, and most components end at 0 to 4 bits,
 * so the wide entries are the bulk of a complete table and almost never chosen.
 *
 * <p>Component i's entries are known for widths 0..{@link #known}(i); every entry that is
 * measured is the same number {@link RateDistortionTable#measure} gives. A component stops
 * growing at the first width whose error is negligible, exactly as in the complete table, so
 * {@link #maxWidth} is the complete table's once that width is reached and
 * {@link RateDistortionTable#MAX_WIDTH} until then.
 *
 * <p>Two stand-ins for entries not yet measured: {@link #relaxed()} puts 0 there (a lower bound:
 * no error is below 0; at the first unmeasured width only, see there), {@link #predicted()} an
 * estimate (a quarter per extra bit, the asymptotic rate of a Gaussian quantizer) that only
 * steers which entries to measure first.
 */
final class LazyRateDistortion {
  /** Error ratio per extra bit assumed by {@link #predicted()}: about 6 dB per bit. */
  private static final double PREDICTED_RATIO_PER_BIT = 0.25;

  private final LevelFamily family;
  private final int groupSize;
  private final long params;
  private final double energy;
  private final double negligible;
  private final long[] cost;
  /** Per component, the measured D(0..known). */
  private final double[][] rows;
  /** Per component, the widest width the complete table holds, once known; else MAX_WIDTH. */
  private final int[] maxWidth;
  /**
   * Per component and width, the codes of B' and A' measured there, kept while {@link #held}
   * allows, so that encoding at a measured width decodes them instead of quantizing again; null
   * where not kept.
   */
  private final VectorCode[][] bCodes;
  private final VectorCode[][] aCodes;
  private final CodeAllowance held;
  /**
   * Per component, the Lloyd-Max groups' RMS scales of its B' column and A' row, the same at
   * every width ({@link VectorQuantizer#rmsScales}): computed once, at its first width of 2 bits
   * or more; null until then and for the uniform family.
   */
  private final short[][] bRms;
  private final short[][] aRms;

  /**
   * Bytes of codes the tables of one compression may keep between measuring and encoding (shared
   * by all layers of an adapter in scope {@code adapter}).
   */
  static final class CodeAllowance {
    private long remaining;

    CodeAllowance(long bytes) {
      remaining = bytes;
    }

    private boolean take(long bytes) {
      if (bytes > remaining) {
        return false;
      }
      remaining -= bytes;
      return true;
    }
  }

  /**
   * Measures every component at widths 0..{@code initialWidth} (the first component up to the
   * guard width at least), stopping earlier where the error is negligible.
   */
  LazyRateDistortion(BalancedLayer layer, LevelFamily family, int groupSize, int initialWidth) {
    this(layer, family, groupSize, initialWidth, new CodeAllowance(0));
  }

  /** As above, keeping measured codes while {@code held} allows ({@link #codes}). */
  LazyRateDistortion(BalancedLayer layer, LevelFamily family, int groupSize, int initialWidth,
      CodeAllowance held) {
    this.family = family;
    this.held = held;
    this.groupSize = groupSize;
    this.params = (long) layer.rank() * (layer.m() + layer.n());
    this.energy = layer.energy();
    this.negligible = RateDistortionTable.NEGLIGIBLE_SHARE * energy;
    this.cost = RateDistortionTable.costs(family, layer.m(), layer.n(), groupSize);
    int k = layer.k();
    this.rows = new double[k][];
    this.maxWidth = new int[k];
    this.bCodes = new VectorCode[k][];
    this.aCodes = new VectorCode[k][];
    this.bRms = new short[k][];
    this.aRms = new short[k][];
    Arrays.fill(maxWidth, RateDistortionTable.MAX_WIDTH);
    for (int i = 0; i < k; i++) {
      rows[i] = new double[] {layer.s()[i] * layer.s()[i]};
      stopIfNegligible(i);
      extend(layer, i, Math.max(initialWidth, minWidth(i)));
    }
  }

  int components() {
    return rows.length;
  }

  /** The widest width whose entry of component i is measured. */
  int known(int i) {
    return rows[i].length - 1;
  }

  /** The widest width component i may take: MAX_WIDTH unless a negligible error stopped it. */
  int maxWidth(int i) {
    return maxWidth[i];
  }

  private static int minWidth(int i) {
    return i == 0 ? RateDistortionTable.GUARD_WIDTH : 0;
  }

  /**
   * Measures component i up to {@code width} (capped at its maximum); {@code layer} is the layer
   * this table was made from (the same factors, possibly decomposed again).
   */
  void extend(BalancedLayer layer, int i, int width) {
    int target = Math.min(width, maxWidth[i]);
    if (target <= known(i)) {
      return;
    }
    CodecWorkspace work = CodecWorkspace.forCurrentThread();
    double[] bRecon = work.tableB(layer.m());
    double[] aRecon = work.tableA(layer.n());
    double[] row = Arrays.copyOf(rows[i], target + 1);
    VectorCode[] kept = new VectorCode[2];
    // Codes and scales of one component at one width, about a byte per value.
    long bytes = 2L * (layer.m() + layer.n()) + 64;
    for (int w = known(i) + 1; w <= target; w++) {
      boolean keep = held.take(bytes);
      if (w >= 2 && family == LevelFamily.LLOYD_MAX && bRms[i] == null) {
        bRms[i] = VectorQuantizer.rmsScales(groupSize, layer.bp(), i * layer.m(), layer.m());
        aRms[i] = VectorQuantizer.rmsScales(groupSize, layer.ap(), i * layer.n(), layer.n());
      }
      row[w] = RateDistortionTable.componentError(layer, family, groupSize, i, w, bRms[i],
          aRms[i], bRecon, aRecon, keep ? kept : null);
      if (keep) {
        if (bCodes[i] == null) {
          bCodes[i] = new VectorCode[RateDistortionTable.MAX_WIDTH + 1];
          aCodes[i] = new VectorCode[RateDistortionTable.MAX_WIDTH + 1];
        }
        bCodes[i][w] = kept[0];
        aCodes[i][w] = kept[1];
      }
      rows[i] = Arrays.copyOf(row, w + 1);
      if (stopIfNegligible(i)) {
        return;
      }
    }
  }

  /**
   * The codes of component i's B' column ({@code side} 0) or A' row (1) measured at width w, or
   * null if they were not kept: what {@link VectorQuantizer#quantize} gives for them.
   */
  VectorCode codes(int i, int w, int side) {
    VectorCode[][] codes = side == 0 ? bCodes : aCodes;
    return codes[i] == null ? null : codes[i][w];
  }

  /** Ends component i's table at its last measured width if that width's error is negligible. */
  private boolean stopIfNegligible(int i) {
    int w = known(i);
    if (w >= minWidth(i) && rows[i][w] <= negligible) {
      maxWidth[i] = w;
      return true;
    }
    return false;
  }

  /**
   * The table with 0, a lower bound, for the first width not yet measured, and ending there. A
   * wider unmeasured width would hold the same 0 at a higher cost, so it changes no allocation:
   * {@link ParetoSearch} never keeps a candidate that takes it (the same error one width down
   * costs less and comes first), and the passes of {@link BitAllocator} never choose it (for any
   * lambda the narrower 0 is smaller or, at lambda 0, the first; upgrades and exchanges find the
   * same gain for fewer bits one width down, and it fits whenever the wider one does). Ending
   * there spares the allocation those candidates (docs/BENCHMARKS.md, issue 18, "Sixth pass").
   */
  RateDistortionTable relaxed() {
    double[][] d = new double[rows.length][];
    for (int i = 0; i < rows.length; i++) {
      d[i] = Arrays.copyOf(rows[i], Math.min(known(i) + 1, maxWidth[i]) + 1);
    }
    return new RateDistortionTable(params, energy, d, cost);
  }

  /** The table with an estimate for every entry not yet measured. */
  RateDistortionTable predicted() {
    double[][] d = new double[rows.length][];
    for (int i = 0; i < rows.length; i++) {
      d[i] = Arrays.copyOf(rows[i], maxWidth[i] + 1);
      for (int w = known(i) + 1; w <= maxWidth[i]; w++) {
        d[i][w] = d[i][w - 1] * PREDICTED_RATIO_PER_BIT;
      }
    }
    return new RateDistortionTable(params, energy, d, cost);
  }
}
