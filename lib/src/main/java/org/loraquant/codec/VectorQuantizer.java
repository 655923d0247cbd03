package org.loraquant.codec;

/**
 * Quantizes one vector of the budget mode at one width under one {@link LevelFamily}, and decodes
 * it. Encoder and decoder share the decode expressions ({@link GroupEncoding} for the sign code
 * and the uniform family, {@link #lloydMaxValue} for Lloyd-Max), so what the codec measures is
 * what a decoder reconstructs, bit for bit.
 */
final class VectorQuantizer {
  private VectorQuantizer() {}

  /**
   * Quantizes {@code x[off, off + len)} in groups of {@code groupSize}; the decoded values go to
   * {@code recon[reconOff..]}.
   */
  static VectorCode quantize(LevelFamily family, int bits, int groupSize, double[] x, int off,
      int len, double[] recon, int reconOff) {
    GroupGeometry vector = new GroupGeometry(bits, groupSize, 1, len);
    int groups = vector.groupsPerVector();
    byte[] codes = new byte[len];
    short[] scales = new short[groups];
    byte[] zeros = new byte[family.hasZeroPoints(bits) ? groups : 0];
    double[] range = new double[2];
    boolean lloydMax = family == LevelFamily.LLOYD_MAX && bits >= 2;
    byte[] scratchCodes = lloydMax ? new byte[Math.min(groupSize, len)] : null;
    double[] scratchRecon = lloydMax ? new double[Math.min(groupSize, len)] : null;
    for (int g = 0; g < groups; g++) {
      int start = vector.groupStart(g);
      int glen = vector.groupLength(g);
      if (bits == 1) {
        scales[g] = GroupEncoding.encodeSign(x, off + start, glen, 1.0, codes, start, recon,
            reconOff + start);
      } else if (family == LevelFamily.UNIFORM) {
        QuantizedVectors.range(x, off + start, glen, range);
        int packed = GroupEncoding.encodeAffine(x, off + start, glen, bits, range[0], range[1],
            codes, start, recon, reconOff + start);
        scales[g] = (short) packed;
        zeros[g] = (byte) (packed >>> 16);
      } else {
        scales[g] = encodeLloydMax(x, off + start, glen, bits, codes, start, recon,
            reconOff + start, scratchCodes, scratchRecon);
      }
    }
    return new VectorCode(bits, codes, scales, zeros);
  }

  /** Writes the decoded values of {@code code} (length {@code len}) to {@code out[outOff..]}. */
  static void decode(LevelFamily family, VectorCode code, int groupSize, int len, float[] out,
      int outOff) {
    int bits = code.bits();
    for (int i = 0; i < len; i++) {
      int g = i / groupSize;
      float scale = Binary16.toFloat(code.scales()[g]);
      int q = code.codes()[i] & 0xff;
      float value;
      if (bits == 1) {
        value = GroupEncoding.signValue(q, scale);
      } else if (family == LevelFamily.UNIFORM) {
        value = GroupEncoding.affineValue(q, code.zeros()[g] & 0xff, scale);
      } else {
        value = lloydMaxValue(bits, q, scale);
      }
      out[outOff + i] = value;
    }
  }

  static float lloydMaxValue(int bits, int q, float scale) {
    return LloydMaxLevels.level(bits, q) * scale;
  }

  /**
   * One Lloyd-Max group. The scale is the better (smaller squared error, the first on ties) of
   * two candidates, each rounded to binary16 and followed by nearest-level codes: the group's
   * RMS (the scale the levels were designed for, a Gaussian's sigma), and the least-squares scale
   * sum x L(q) / sum L(q)^2 given the codes chosen with the RMS scale (which repairs groups far
   * from Gaussian, e.g. a tail group of one value). Returns the binary16 scale bits. The second
   * candidate is coded into the scratch arrays (at least {@code len} long) and copied over the
   * first only if it wins, so no value is coded twice at the same scale.
   */
  private static short encodeLloydMax(double[] x, int off, int len, int bits, byte[] codes,
      int codeOff, double[] recon, int reconOff, byte[] scratchCodes, double[] scratchRecon) {
    double sumSquares = 0;
    for (int i = 0; i < len; i++) {
      sumSquares += x[off + i] * x[off + i];
    }
    short rms = Binary16.scaleBits(Math.sqrt(sumSquares / len));
    double rmsError = codeLloydMax(x, off, len, bits, rms, codes, codeOff, recon, reconOff);
    double xl = 0;
    double ll = 0;
    for (int i = 0; i < len; i++) {
      double level = LloydMaxLevels.level(bits, codes[codeOff + i] & 0xff);
      xl += x[off + i] * level;
      ll += level * level;
    }
    short fitted = Binary16.scaleBits(Math.max(0, xl / ll));
    if (fitted == rms
        || codeLloydMax(x, off, len, bits, fitted, scratchCodes, 0, scratchRecon, 0)
            >= rmsError) {
      return rms;
    }
    System.arraycopy(scratchCodes, 0, codes, codeOff, len);
    System.arraycopy(scratchRecon, 0, recon, reconOff, len);
    return fitted;
  }

  /**
   * Nearest-level codes and decoded values of the group at the given binary16 scale; returns the
   * squared error. A zero scale (an all-zero group) decodes every value to 0.
   */
  private static double codeLloydMax(double[] x, int off, int len, int bits, short scaleBits,
      byte[] codes, int codeOff, double[] recon, int reconOff) {
    float scale = Binary16.toFloat(scaleBits);
    double error = 0;
    for (int i = 0; i < len; i++) {
      int q = scale == 0 ? 1 << (bits - 1) : LloydMaxLevels.nearestCode(bits, x[off + i] / scale);
      codes[codeOff + i] = (byte) q;
      double value = lloydMaxValue(bits, q, scale);
      recon[reconOff + i] = value;
      error += (x[off + i] - value) * (x[off + i] - value);
    }
    return error;
  }
}
