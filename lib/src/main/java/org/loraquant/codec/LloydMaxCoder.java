package org.loraquant.codec;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Codes one Lloyd-Max group of the budget mode ({@link VectorQuantizer}): codes at the group's RMS
 * scale, stored with their least-squares scale ({@link #encode}), at 2 to 6 bits without a
 * division per value. The code of x at scale c is the number of midpoints t_j
 * ({@link LloydMaxLevels}) with x / c >= t_j ({@link LloydMaxLevels#nearestCode}). Division by a
 * positive c is monotone, so that holds exactly when x > Y_j, Y_j being the largest double whose
 * quotient by c stays below t_j; the coder reads each Y_j once per group from a table
 * ({@link #setBounds}), and then codes every value by comparisons alone, each from the sign of a
 * difference, without a branch ({@link #above}). The codes are bit for bit those of the division
 * (the values are finite, the codec refuses NaN and infinity in its input);
 * {@code LloydMaxCoderTest} compares the two.
 *
 * <p>How a value finds its bounds depends on the width: 3 comparisons at 2 bits, a binary search
 * of 3 at 3 bits, and at 4 to 6 bits a grid ({@link #GRID}): x times (cells per unit / c) names a
 * cell of x / c, the cell gives the code q of its lower edge, and the code is q or q + 1, decided
 * by one comparison with Y_q. The product is not exact, which the grid allows for: every cell,
 * widened by far more than the product's rounding, holds at most one threshold. At 7 and 8 bits
 * the group's 127 or 255 bounds cost what the grid saves, and the coder divides each value
 * (docs/BENCHMARKS.md, "Budget mode", "Sixth pass"). The loop that codes also sums the
 * least-squares fit; the decoded values are written by a second, plain loop once the scale is
 * known.
 *
 * <p>One coder holds scratch arrays for the widest width; it is not thread-safe
 * ({@link CodecWorkspace} keeps one per thread and group size).
 */
final class LloydMaxCoder {
  /** The narrowest width coded through the grid; narrower ones search their bounds directly. */
  static final int FIRST_BY_GRID = 4;
  /** The widest width coded by comparisons; wider groups divide each value. */
  static final int WIDEST_BY_COMPARISON = 6;

  /** The bounds of the group's width, then +infinity (no value is above it). */
  private final double[] bounds = new double[1 << WIDEST_BY_COMPARISON];
  /** The group's decoded value of each code. */
  private final double[] values = new double[1 << RateDistortionTable.MAX_WIDTH];
  private final int groupSize;
  /** Sum x L(q) and sum L(q)^2 of the group last coded. */
  private double xl;
  private double ll;

  LloydMaxCoder(int groupSize) {
    this.groupSize = groupSize;
  }

  int groupSize() {
    return groupSize;
  }

  /**
   * The scale a group is coded at ({@link #encode}): its RMS rounded to binary16, the scale the
   * levels were designed for (a Gaussian's sigma). It depends on the values alone, not on the
   * width, so a caller coding the same group at several widths computes it once.
   */
  static short rmsScale(double[] x, int off, int len) {
    double sumSquares = 0;
    for (int i = 0; i < len; i++) {
      sumSquares += x[off + i] * x[off + i];
    }
    return Binary16.scaleBits(Math.sqrt(sumSquares / len));
  }

  /**
   * One Lloyd-Max group: the codes are the nearest levels at the group's RMS scale {@code rms}
   * ({@link #rmsScale} of these values), the scale the levels were designed for; the scale stored
   * with them is the least-squares scale of those codes, sum x L(q) / sum L(q)^2, rounded to
   * binary16. For given codes the squared error is a parabola in the scale with its minimum
   * there, and the binary16 value nearest that minimum is at least as good as any other, the RMS
   * scale included: the stored scale never does worse than the RMS scale with the same codes (up
   * to the decoded values' rounding to binary32), and repairs groups far from Gaussian (e.g. a
   * tail group of one value). Codes go to {@code codes[codeOff..]}, decoded values to
   * {@code recon[reconOff..]}; returns the binary16 scale bits. {@code len} is at most the
   * coder's group size.
   *
   * <p>One search for each value's code: coding the group a second time at the fitted scale and
   * keeping the better of the two results, as the coder did before, found the same codes for
   * almost every value, cost the coder twice the time, and lowered the real adapters' median
   * error by 0.2-0.8% (docs/BENCHMARKS.md, issue 18, "Seventh pass").
   */
  short encode(double[] x, int off, int len, int bits, byte[] codes, int codeOff, double[] recon,
      int reconOff) {
    return encode(x, off, len, bits, rmsScale(x, off, len), codes, codeOff, recon, reconOff);
  }

  /** {@link #encode} with the group's {@link #rmsScale} given. */
  short encode(double[] x, int off, int len, int bits, short rms, byte[] codes, int codeOff,
      double[] recon, int reconOff) {
    codeAt(x, off, len, bits, rms, codes, codeOff);
    short fitted = Binary16.scaleBits(Math.max(0, xl / ll));
    float scale = Binary16.toFloat(fitted);
    for (int q = 0; q < 1 << bits; q++) {
      values[q] = VectorQuantizer.lloydMaxValue(bits, q, scale);
    }
    double[] v = values;
    for (int i = 0; i < len; i++) {
      recon[reconOff + i] = v[codes[codeOff + i] & 0xff];
    }
    return fitted;
  }

  /**
   * Nearest-level codes of the group at the given binary16 scale into {@code codes[codeOff..]};
   * leaves sum x L(q) and sum L(q)^2 in {@link #xl} and {@link #ll}, each summed in value order.
   * A zero scale (an all-zero group) codes every value to the middle level.
   */
  private void codeAt(double[] x, int off, int len, int bits, short scaleBits, byte[] codes,
      int codeOff) {
    float scale = Binary16.toFloat(scaleBits);
    double[] levels = LloydMaxLevels.levelsAsDoubles(bits);
    if (scale == 0) {
      codeAtZeroScale(x, off, len, bits, codes, codeOff, levels);
    } else if (bits > WIDEST_BY_COMPARISON) {
      codeByDivision(x, off, len, bits, scale, codes, codeOff, levels);
    } else {
      setBounds(bits, scale);
      if (bits == 2) {
        code2(x, off, len, codes, codeOff, levels);
      } else if (bits < FIRST_BY_GRID) {
        code3(x, off, len, codes, codeOff, levels);
      } else {
        codeByGrid(x, off, len, bits, scale, codes, codeOff, levels);
      }
    }
  }

  // One loop per width, each small enough for the JIT to compile with its comparisons inline (one
  // shared loop with a switch per value ran 2-3 times slower: the switch was not inlined). Each
  // leaves sum x L(q) and sum L(q)^2 in xl and ll, summed in value order. The code is the number
  // of bounds below x, counted without branches: a conditional per comparison, which the JIT
  // compiled to a branch, mispredicted on about every other value (2-bit groups took three times
  // as long on data the branch predictor could not learn). At 3 bits a binary search over the 7
  // bounds (3 steps, each a comparison with the bound the previous steps select) does less work
  // per value than 7 comparisons.

  private void code2(double[] x, int off, int len, byte[] codes, int codeOff, double[] levels) {
    double b0 = bounds[0];
    double b1 = bounds[1];
    double b2 = bounds[2];
    double sumXl = 0;
    double sumLl = 0;
    for (int i = 0; i < len; i++) {
      double xi = x[off + i];
      int q = above(b0, xi) + above(b1, xi) + above(b2, xi);
      codes[codeOff + i] = (byte) q;
      double level = levels[q];
      sumXl += xi * level;
      sumLl += level * level;
    }
    xl = sumXl;
    ll = sumLl;
  }

  private void code3(double[] x, int off, int len, byte[] codes, int codeOff, double[] levels) {
    double[] b = bounds;
    double middle = b[3];
    double sumXl = 0;
    double sumLl = 0;
    for (int i = 0; i < len; i++) {
      double xi = x[off + i];
      int q = above(middle, xi) << 2;
      q += above(b[q + 1], xi) << 1;
      q += above(b[q], xi);
      codes[codeOff + i] = (byte) q;
      double level = levels[q];
      sumXl += xi * level;
      sumLl += level * level;
    }
    xl = sumXl;
    ll = sumLl;
  }

  // From 4 bits on: the grid. Its cells are 2^-(bits + 1) wide in units of x / scale, over
  // [-GRID_EDGE, GRID_EDGE): narrower than half the closest two thresholds at each width (0.26
  // apart at 4 bits, 0.067 at 6), 3.5 KB in all. Values beyond the grid fall in its first or last
  // cell, whose codes are 0 and the largest, as theirs.

  private static final double GRID_EDGE = 8;
  /**
   * How far below its lower edge a cell's code is taken, in units of x / scale: far more than the
   * error of the cell's position, under 1e-14 (a quotient, a product and a sum of doubles, each
   * correctly rounded, for |x / scale| up to GRID_EDGE; beyond it the cell is clamped to the first
   * or last anyway), and far less than the gap between two thresholds.
   */
  static final double GRID_MARGIN = 1e-9;
  /** Per width from FIRST_BY_GRID, the code of each cell's lower edge less GRID_MARGIN. */
  private static final byte[][] GRID = new byte[WIDEST_BY_COMPARISON + 1][];

  static {
    for (int bits = FIRST_BY_GRID; bits <= WIDEST_BY_COMPARISON; bits++) {
      byte[] grid = new byte[gridCells(bits)];
      for (int c = 0; c < grid.length; c++) {
        grid[c] = (byte) LloydMaxLevels.nearestCodeBySearch(bits, gridCellStart(bits, c)
            - GRID_MARGIN);
      }
      GRID[bits] = grid;
    }
  }

  /** Grid cells per unit of x / scale at this width. */
  private static int gridCellsPerUnit(int bits) {
    return 2 << bits;
  }

  static int gridCells(int bits) {
    return (int) (2 * GRID_EDGE) * gridCellsPerUnit(bits);
  }

  /** The lower edge of a grid cell, in units of x / scale. */
  static double gridCellStart(int bits, int cell) {
    return -GRID_EDGE + cell / (double) gridCellsPerUnit(bits);
  }

  /** The code a grid cell starts from, for tests. */
  static int gridCode(int bits, int cell) {
    return GRID[bits][cell] & 0xff;
  }

  private void codeByGrid(double[] x, int off, int len, int bits, float scale, byte[] codes,
      int codeOff, double[] levels) {
    byte[] grid = GRID[bits];
    int last = grid.length - 1;
    // Cells per unit of x: cells per unit of x / scale, divided by the scale once per group.
    double perUnit = gridCellsPerUnit(bits) / (double) scale;
    double origin = GRID_EDGE * gridCellsPerUnit(bits);
    double[] b = bounds;
    double sumXl = 0;
    double sumLl = 0;
    for (int i = 0; i < len; i++) {
      double xi = x[off + i];
      int cell = Math.max(0, Math.min(last, (int) (xi * perUnit + origin)));
      int q0 = grid[cell] & 0xff;
      int q = q0 + above(b[q0], xi);
      codes[codeOff + i] = (byte) q;
      double level = levels[q];
      sumXl += xi * level;
      sumLl += level * level;
    }
    xl = sumXl;
    ll = sumLl;
  }

  /**
   * 1 if x > below, else 0, from the sign of below - x and without a branch (a branch per
   * comparison, which the JIT compiles a conditional to here, mispredicts on about every other
   * value). Exact for finite values: a difference of two unequal doubles is never zero (subnormals
   * keep it), rounding never changes its sign, and equal values give +0.0. With below the largest
   * double under a bound, x > below is x >= bound.
   */
  private static int above(double below, double x) {
    return (int) (Double.doubleToRawLongBits(below - x) >>> 63);
  }

  /**
   * Per width coded by comparisons, the bounds at every scale 1 + f / 1024 (f = 0..1023, row f),
   * each the largest double x with x / scale below the threshold: see {@link #setBounds}. Built on
   * a width's first use (6 bits: 516 KB), so a run that never codes a width never holds its
   * table.
   */
  private static final AtomicReferenceArray<double[]> UNIT_SCALE_BOUNDS =
      new AtomicReferenceArray<>(WIDEST_BY_COMPARISON + 1);
  /** Fraction bits of a binary16 value: its significand is 1 + f / 2^10. */
  private static final int SCALE_FRACTION_BITS = 10;

  private static double[] unitScaleBounds(int bits) {
    double[] table = UNIT_SCALE_BOUNDS.get(bits);
    if (table == null) {
      // Two threads may both build it: the same numbers, either one kept.
      UNIT_SCALE_BOUNDS.compareAndSet(bits, null, buildUnitScaleBounds(bits));
      table = UNIT_SCALE_BOUNDS.get(bits);
    }
    return table;
  }

  private static double[] buildUnitScaleBounds(int bits) {
    double[] t = LloydMaxLevels.thresholds(bits);
    double[] table = new double[(t.length) << SCALE_FRACTION_BITS];
    for (int f = 0; f < 1 << SCALE_FRACTION_BITS; f++) {
      float scale = 1 + f / (float) (1 << SCALE_FRACTION_BITS);
      for (int j = 0; j < t.length; j++) {
        table[f * t.length + j] = t[j] == 0 ? 0 : Math.nextDown(smallestReaching(t[j], scale));
      }
    }
    return table;
  }

  /**
   * {@link #bounds}[j] = the largest double x with x / scale < t_j, for a binary16 scale: what
   * {@code nextDown(smallestReaching(t_j, scale))} gives, read from a table instead of found by
   * its loops (each bound a few dependent divisions and unpredictable branches, about a fifth of
   * a 2-bit group's time). A positive binary16 value is (1 + f / 1024) 2^e, and x / scale is the
   * quotient of x 2^-e by 1 + f / 1024, exactly (a power of 2 scales a normal double exactly, and
   * the bound of a non-zero threshold t is about |t| 2^-24 or more, far from the subnormals), so
   * that bound is the table's for f times 2^e. The middle threshold, 0, has its own form.
   * {@code LloydMaxCoderTest} checks every bound against its definition at every binary16 scale.
   * After the width's bounds comes +infinity, which no value is above (the grid's last step).
   */
  private void setBounds(int bits, float scale) {
    int scaleBits = Float.floatToRawIntBits(scale);
    double power = exponentPower(scaleBits);
    double[] t = LloydMaxLevels.thresholds(bits);
    double[] table = unitScaleBounds(bits);
    int row = fraction(scaleBits) * t.length;
    for (int j = 0; j < t.length; j++) {
      bounds[j] = t[j] == 0 ? belowZero(scale) : table[row + j] * power;
    }
    bounds[t.length] = Double.POSITIVE_INFINITY;
  }

  /** f of a binary16 scale (1 + f / 1024) 2^e, from its float bits. */
  private static int fraction(int scaleFloatBits) {
    return (scaleFloatBits >>> (23 - SCALE_FRACTION_BITS)) & ((1 << SCALE_FRACTION_BITS) - 1);
  }

  /** 2^e of a binary16 scale (1 + f / 1024) 2^e, from its float bits. */
  private static double exponentPower(int scaleFloatBits) {
    // A binary16 value is a normal float: the float's exponent is e.
    return Double.longBitsToDouble((long) ((scaleFloatBits >>> 23) - 127 + 1023) << 52);
  }

  /**
   * The largest double x with x / scale < 0 (scale > 0): x / scale rounds to -0.0, which is not
   * below 0, exactly when |x| / scale is at most half the smallest double (a tie rounds to the
   * even 0), so x is the negative of the least multiple of Double.MIN_VALUE above scale / 2 times
   * it.
   */
  static double belowZero(float scale) {
    return -(Math.floor(scale / 2.0) + 1) * Double.MIN_VALUE;
  }

  /**
   * The bounds {@link #setBounds} gives at this width and scale, the width's thresholds' and then
   * +infinity: what the comparisons count (x counts when x > one), for tests.
   */
  static double[] boundsBelow(int bits, float scale) {
    LloydMaxCoder coder = new LloydMaxCoder(1);
    coder.setBounds(bits, scale);
    return java.util.Arrays.copyOf(coder.bounds, 1 << bits);
  }

  /**
   * The smallest double x with x / scale >= t (scale > 0): from t * scale, which is within an
   * ulp or two of it, stepped with the division itself so the answer is exact.
   */
  static double smallestReaching(double t, float scale) {
    double x = t * scale;
    while (x / scale < t) {
      x = Math.nextUp(x);
    }
    while (Math.nextDown(x) / scale >= t) {
      x = Math.nextDown(x);
    }
    return x;
  }

  // From 7 bits on, a division per value (LloydMaxLevels.nearestCode): filling the group's 127 or
  // 255 bounds cost the grid what it saves there (docs/BENCHMARKS.md, "Sixth pass").

  private void codeByDivision(double[] x, int off, int len, int bits, float scale, byte[] codes,
      int codeOff, double[] levels) {
    double sumXl = 0;
    double sumLl = 0;
    for (int i = 0; i < len; i++) {
      double xi = x[off + i];
      int q = LloydMaxLevels.nearestCode(bits, xi / scale);
      codes[codeOff + i] = (byte) q;
      double level = levels[q];
      sumXl += xi * level;
      sumLl += level * level;
    }
    xl = sumXl;
    ll = sumLl;
  }

  private void codeAtZeroScale(double[] x, int off, int len, int bits, byte[] codes, int codeOff,
      double[] levels) {
    int q = 1 << (bits - 1);
    double level = levels[q];
    double sumXl = 0;
    double sumLl = 0;
    for (int i = 0; i < len; i++) {
      codes[codeOff + i] = (byte) q;
      sumXl += x[off + i] * level;
      sumLl += level * level;
    }
    xl = sumXl;
    ll = sumLl;
  }
}
