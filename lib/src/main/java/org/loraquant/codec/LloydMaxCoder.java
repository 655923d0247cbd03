package org.loraquant.codec;

/**
 * Codes one Lloyd-Max group of the budget mode ({@link VectorQuantizer}), at 2 and 3 bits without
 * a division per value. The code of x at scale c is the number of midpoints t_j ({@link LloydMaxLevels}) with
 * x / c >= t_j. Division by a positive c is monotone, so that holds exactly when x >= X_j, X_j being
 * the smallest double whose quotient by c reaches t_j; the coder finds each X_j once per group
 * and scale (from t_j * c, stepping an ulp or two with the very division), and then codes every
 * value by comparisons alone. The codes, values and errors are bit for bit those of the division
 * ({@link LloydMaxLevels#nearestCode}; the values are finite, the codec refuses NaN and infinity
 * in its input); {@code LloydMaxCoderTest} compares the two.
 *
 * <p>Comparisons pay at 2 and 3 bits (3 and 7 per value; 2 bits measured 1.6 times faster than
 * the division, docs/BENCHMARKS.md, "Budget mode"); from 4 bits on, 15 comparisons or a search
 * measured no faster than the division, which those widths keep. Both paths sum the least-squares
 * fit in the same loop as the codes (the coder before had a second loop for it).
 *
 * <p>One coder holds scratch arrays for the widest width and a group; it is not thread-safe
 * ({@link CodecWorkspace} keeps one per thread).
 */
final class LloydMaxCoder {
  /** Widest width coded by comparisons; wider groups divide each value. */
  static final int WIDEST_BY_COMPARISON = 3;

  private final double[] bounds = new double[(1 << WIDEST_BY_COMPARISON) - 1];
  /** The group's decoded value of each code, at the widths coded by comparisons. */
  private final double[] values = new double[1 << WIDEST_BY_COMPARISON];
  /** The squared error, sum x L(q) and sum L(q)^2 of the last group coded by comparisons. */
  private final double[] sums = new double[3];
  private final byte[] scratchCodes;
  private final double[] scratchRecon;
  /** Sum x L(q) and sum L(q)^2 of the last group coded with the fit sums asked for. */
  private double xl;
  private double ll;

  LloydMaxCoder(int groupSize) {
    scratchCodes = new byte[groupSize];
    scratchRecon = new double[groupSize];
  }

  int groupSize() {
    return scratchCodes.length;
  }

  /**
   * One Lloyd-Max group. The scale is the better (smaller squared error, the first on ties) of
   * two candidates, each rounded to binary16 and followed by nearest-level codes: the group's
   * RMS (the scale the levels were designed for, a Gaussian's sigma), and the least-squares scale
   * sum x L(q) / sum L(q)^2 given the codes chosen with the RMS scale (which repairs groups far
   * from Gaussian, e.g. a tail group of one value). Codes go to {@code codes[codeOff..]}, decoded
   * values to {@code recon[reconOff..]}; returns the binary16 scale bits. The second candidate is
   * coded into scratch and copied over the first only if it wins. {@code len} is at most the
   * coder's group size.
   */
  short encode(double[] x, int off, int len, int bits, byte[] codes, int codeOff, double[] recon,
      int reconOff) {
    double sumSquares = 0;
    for (int i = 0; i < len; i++) {
      sumSquares += x[off + i] * x[off + i];
    }
    short rms = Binary16.scaleBits(Math.sqrt(sumSquares / len));
    double rmsError = code(x, off, len, bits, rms, codes, codeOff, recon, reconOff, true);
    short fitted = Binary16.scaleBits(Math.max(0, xl / ll));
    if (fitted == rms
        || code(x, off, len, bits, fitted, scratchCodes, 0, scratchRecon, 0, false) >= rmsError) {
      return rms;
    }
    System.arraycopy(scratchCodes, 0, codes, codeOff, len);
    System.arraycopy(scratchRecon, 0, recon, reconOff, len);
    return fitted;
  }

  /**
   * Nearest-level codes and decoded values of the group at the given binary16 scale; returns the
   * squared error, and with {@code fitSums} leaves sum x L(q) and sum L(q)^2 in {@link #xl} and
   * {@link #ll} (each sum in value order, as a plain loop over the codes gives). A zero scale
   * (an all-zero group) decodes every value to 0.
   */
  private double code(double[] x, int off, int len, int bits, short scaleBits, byte[] codes,
      int codeOff, double[] recon, int reconOff, boolean fitSums) {
    float scale = Binary16.toFloat(scaleBits);
    if (scale == 0 || bits > WIDEST_BY_COMPARISON) {
      return codeByDivision(x, off, len, bits, scale, codes, codeOff, recon, reconOff, fitSums);
    }
    for (int q = 0; q < 1 << bits; q++) {
      values[q] = VectorQuantizer.lloydMaxValue(bits, q, scale);
    }
    double[] t = LloydMaxLevels.thresholds(bits);
    for (int j = 0; j < t.length; j++) {
      bounds[j] = smallestReaching(t[j], scale);
    }
    double[] levels = LloydMaxLevels.levelsAsDoubles(bits);
    if (bits == 2) {
      code2(x, off, len, codes, codeOff, recon, reconOff, levels);
    } else {
      code3(x, off, len, codes, codeOff, recon, reconOff, levels);
    }
    if (fitSums) {
      xl = sums[1];
      ll = sums[2];
    }
    return sums[0];
  }

  // One loop per width, each small enough for the JIT to compile with its comparisons inline
  // (one shared loop with a switch per value ran 2-3 times slower: the switch was not inlined).
  // Each leaves the squared error, sum x L(q) and sum L(q)^2 in sums[0..2], each summed in value
  // order. The code is the number of bounds at most x, counted without branches (a branch per
  // comparison would mispredict on about every other value).

  private void code2(double[] x, int off, int len, byte[] codes, int codeOff, double[] recon,
      int reconOff, double[] levels) {
    double b0 = bounds[0];
    double b1 = bounds[1];
    double b2 = bounds[2];
    double error = 0;
    double sumXl = 0;
    double sumLl = 0;
    for (int i = 0; i < len; i++) {
      double xi = x[off + i];
      int q = (xi >= b0 ? 1 : 0) + (xi >= b1 ? 1 : 0) + (xi >= b2 ? 1 : 0);
      codes[codeOff + i] = (byte) q;
      double value = values[q];
      recon[reconOff + i] = value;
      error += (xi - value) * (xi - value);
      double level = levels[q];
      sumXl += xi * level;
      sumLl += level * level;
    }
    sums[0] = error;
    sums[1] = sumXl;
    sums[2] = sumLl;
  }

  private void code3(double[] x, int off, int len, byte[] codes, int codeOff, double[] recon,
      int reconOff, double[] levels) {
    double b0 = bounds[0];
    double b1 = bounds[1];
    double b2 = bounds[2];
    double b3 = bounds[3];
    double b4 = bounds[4];
    double b5 = bounds[5];
    double b6 = bounds[6];
    double error = 0;
    double sumXl = 0;
    double sumLl = 0;
    for (int i = 0; i < len; i++) {
      double xi = x[off + i];
      int q = (xi >= b0 ? 1 : 0) + (xi >= b1 ? 1 : 0) + (xi >= b2 ? 1 : 0) + (xi >= b3 ? 1 : 0)
          + (xi >= b4 ? 1 : 0) + (xi >= b5 ? 1 : 0) + (xi >= b6 ? 1 : 0);
      codes[codeOff + i] = (byte) q;
      double value = values[q];
      recon[reconOff + i] = value;
      error += (xi - value) * (xi - value);
      double level = levels[q];
      sumXl += xi * level;
      sumLl += level * level;
    }
    sums[0] = error;
    sums[1] = sumXl;
    sums[2] = sumLl;
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

  /** {@link #code} by a division per value ({@link LloydMaxLevels#nearestCode}). */
  private double codeByDivision(double[] x, int off, int len, int bits, float scale,
      byte[] codes, int codeOff, double[] recon, int reconOff, boolean fitSums) {
    double error = 0;
    double sumXl = 0;
    double sumLl = 0;
    for (int i = 0; i < len; i++) {
      double xi = x[off + i];
      int q = scale == 0 ? 1 << (bits - 1) : LloydMaxLevels.nearestCode(bits, xi / scale);
      codes[codeOff + i] = (byte) q;
      double value = VectorQuantizer.lloydMaxValue(bits, q, scale);
      double level = LloydMaxLevels.level(bits, q);
      recon[reconOff + i] = value;
      error += (xi - value) * (xi - value);
      sumXl += xi * level;
      sumLl += level * level;
    }
    if (fitSums) {
      xl = sumXl;
      ll = sumLl;
    }
    return error;
  }
}
