package org.loraquant.codec;

/**
 * Encoding and decoding of one quantization group. The codec and the decoder share the decode
 * expressions here, so the codec's reconstruction is bit-for-bit what decoding the stored form
 * gives.
 */
final class GroupEncoding {
  /** Floor of the affine range (docs/ALGORITHM.md step 4), so a constant group has a usable scale. */
  static final double MIN_RANGE = 1e-5;

  private GroupEncoding() {}

  static float affineValue(int q, int zero, float scale) {
    return (q - zero) * scale;
  }

  /** +scale for code 1, -scale for code 0; branch-free because signs of data are unpredictable. */
  static float signValue(int q, float scale) {
    return (2 * q - 1) * scale;
  }

  /**
   * Asymmetric round-to-nearest of {@code x[off, off + len)} over the range [lo, hi] (min and max
   * of the group for plain RTN). Codes go to {@code codes[codeOff..]}, decoded values to
   * {@code recon[reconOff..]}. Rounding is half-to-even, as torch.round. Returns the zero point in
   * bits 16..23 and the binary16 scale in bits 0..15.
   */
  static int encodeAffine(double[] x, int off, int len, int bits, double lo, double hi,
      byte[] codes, int codeOff, double[] recon, int reconOff) {
    int qmax = (1 << bits) - 1;
    short scaleBits = Binary16.scaleBits(Math.max(hi - lo, MIN_RANGE) / qmax);
    if (scaleBits == 0) {
      scaleBits = Binary16.MIN_POSITIVE_BITS; // cannot happen for bits <= 8 (1e-5/255 rounds up)
    }
    float scale = Binary16.toFloat(scaleBits);
    int zero = clamp(Math.rint(-lo / scale), qmax);
    if (qmax == 3) {
      encode2BitByThresholds(x, off, len, scale, zero, codes, codeOff, recon, reconOff);
      return (zero << 16) | (scaleBits & 0xffff);
    }
    for (int i = 0; i < len; i++) {
      int q = clamp(Math.rint(x[off + i] / scale) + zero, qmax);
      codes[codeOff + i] = (byte) q;
      recon[reconOff + i] = affineValue(q, zero, scale);
    }
    return (zero << 16) | (scaleBits & 0xffff);
  }

  /**
   * The loop of {@link #encodeAffine} for 2 bits without a division per value (about 30% faster
   * measured): the code is non-decreasing in x, so code >= j exactly when x >= T_j, the smallest
   * double whose code by the division formula reaches j. Each T_j is found from
   * (j - zero - 0.5) * scale (exact) by stepping a few ulps with that very formula, so the codes
   * are bit for bit those of the division loop. (For 3 bits and more, the division loop measured
   * faster.)
   */
  private static void encode2BitByThresholds(double[] x, int off, int len, float scale, int zero,
      byte[] codes, int codeOff, double[] recon, int reconOff) {
    double t1 = threshold(1, 3, scale, zero);
    double t2 = threshold(2, 3, scale, zero);
    double t3 = threshold(3, 3, scale, zero);
    // (q - zero) * scale is exact in float (a short integer times a binary16 value), so the
    // double product below is the very value affineValue gives.
    double step = scale;
    for (int i = 0; i < len; i++) {
      double xi = x[off + i];
      int q = (xi >= t1 ? 1 : 0) + (xi >= t2 ? 1 : 0) + (xi >= t3 ? 1 : 0);
      codes[codeOff + i] = (byte) q;
      recon[reconOff + i] = (q - zero) * step;
    }
  }

  /** Code of x as the division loop of {@link #encodeAffine} computes it. */
  static int codeByDivision(double x, int qmax, float scale, int zero) {
    return clamp(Math.rint(x / scale) + zero, qmax);
  }

  /** Smallest double x with codeByDivision(x) >= j (1 <= j <= qmax), for scale > 0. */
  static double threshold(int j, int qmax, float scale, int zero) {
    double t = (j - zero - 0.5) * scale; // exact: a short half-integer times a float
    // The quotient of t is exactly j - zero - 0.5, and a neighbouring double moves it by about
    // one ulp, so each loop stops after a step or two (bounded for safety).
    for (int step = 0; step < 64 && codeByDivision(t, qmax, scale, zero) < j; step++) {
      t = Math.nextUp(t);
    }
    for (int step = 0; step < 64
        && codeByDivision(Math.nextDown(t), qmax, scale, zero) >= j; step++) {
      t = Math.nextDown(t);
    }
    return t;
  }

  /**
   * Sign code of {@code x[off, off + len)} with scale {@code multiplier * mean|x|} (multiplier 1 is
   * the least-squares scale). A zero value gets code 1 (+scale): a sign code cannot store 0, and an
   * all-zero group stores scale 0, which decodes to zeros. Returns the binary16 scale bits.
   */
  static short encodeSign(double[] x, int off, int len, double multiplier, byte[] codes,
      int codeOff, double[] recon, int reconOff) {
    // Eight partial sums (fixed order, so deterministic) break the add latency chain.
    double s0 = 0;
    double s1 = 0;
    double s2 = 0;
    double s3 = 0;
    double s4 = 0;
    double s5 = 0;
    double s6 = 0;
    double s7 = 0;
    int i = 0;
    for (; i + 8 <= len; i += 8) {
      s0 += Math.abs(x[off + i]);
      s1 += Math.abs(x[off + i + 1]);
      s2 += Math.abs(x[off + i + 2]);
      s3 += Math.abs(x[off + i + 3]);
      s4 += Math.abs(x[off + i + 4]);
      s5 += Math.abs(x[off + i + 5]);
      s6 += Math.abs(x[off + i + 6]);
      s7 += Math.abs(x[off + i + 7]);
    }
    for (; i < len; i++) {
      s0 += Math.abs(x[off + i]);
    }
    double sum = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    short scaleBits = Binary16.scaleBits(multiplier * sum / len);
    // Code 1 and +scale for x >= 0, code 0 and -scale below, read from the sign of x + 0.0
    // (adding 0.0 turns -0.0 into +0.0): the values of signValue without its multiplication, and
    // without a double-valued select, which the JIT may compile to a branch that mispredicts on
    // every other value. copySign measured faster than assembling the bits by hand.
    double magnitude = Binary16.toFloat(scaleBits);
    for (i = 0; i < len; i++) {
      double xi = x[off + i] + 0.0;
      codes[codeOff + i] = (byte) (~Double.doubleToRawLongBits(xi) >>> 63);
      recon[reconOff + i] = Math.copySign(magnitude, xi);
    }
    return scaleBits;
  }

  /**
   * v (an integer-valued double) clamped to [0, max]. Branch-free (min / max compile to
   * conditional moves): which end a value clamps to is unpredictable, and mispredicted branches
   * were most of the cost of quantizing.
   */
  private static int clamp(double v, int max) {
    return (int) Math.max(0.0, Math.min(max, v));
  }
}
