package org.loraquant.codec;

/**
 * Quantizes one vector of the budget mode at one width under one {@link LevelFamily}, and decodes
 * it. Encoder and decoder share the decode expressions ({@link GroupEncoding} for the sign code
 * and the uniform family, {@link #lloydMaxValue} for Lloyd-Max, whose groups {@link LloydMaxCoder}
 * codes), so what the codec measures is what a decoder reconstructs, bit for bit.
 */
final class VectorQuantizer {
  private VectorQuantizer() {}

  /**
   * Quantizes {@code x[off, off + len)} in groups of {@code groupSize}; the decoded values go to
   * {@code recon[reconOff..]}.
   */
  static VectorCode quantize(LevelFamily family, int bits, int groupSize, double[] x, int off,
      int len, double[] recon, int reconOff) {
    return quantize(family, bits, groupSize, x, off, len, null, recon, reconOff);
  }

  /**
   * {@link #quantize} with the vector's {@link #rmsScales} given ({@code rms}), or computed where
   * needed if null: the same codes and values.
   */
  static VectorCode quantize(LevelFamily family, int bits, int groupSize, double[] x, int off,
      int len, short[] rms, double[] recon, int reconOff) {
    int groups = GroupGeometry.groupsPerVector(len, groupSize);
    byte[] codes = new byte[len];
    short[] scales = new short[groups];
    byte[] zeros = new byte[family.hasZeroPoints(bits) ? groups : 0];
    encode(family, bits, groupSize, x, off, len, rms, codes, scales, zeros, recon, reconOff,
        CodecWorkspace.forCurrentThread().lloydMaxCoder(groupSize));
    return new VectorCode(bits, codes, scales, zeros);
  }

  /**
   * The decoded values alone of {@link #quantize}, the same numbers, into
   * {@code recon[reconOff..]}; the codes are not kept (what a rate-distortion table needs).
   */
  static void reconstruct(LevelFamily family, int bits, int groupSize, double[] x, int off,
      int len, double[] recon, int reconOff) {
    reconstruct(family, bits, groupSize, x, off, len, null, recon, reconOff);
  }

  /** {@link #reconstruct} with the vector's {@link #rmsScales} given, as {@link #quantize}. */
  static void reconstruct(LevelFamily family, int bits, int groupSize, double[] x, int off,
      int len, short[] rms, double[] recon, int reconOff) {
    CodecWorkspace work = CodecWorkspace.forCurrentThread();
    int groups = GroupGeometry.groupsPerVector(len, groupSize);
    encode(family, bits, groupSize, x, off, len, rms, work.scratchCodes(len),
        work.scratchScales(groups), work.scratchZeros(groups), recon, reconOff,
        work.lloydMaxCoder(groupSize));
  }

  /**
   * Per group of {@code x[off, off + len)}, the RMS scale the Lloyd-Max coder chooses its codes
   * at ({@link LloydMaxCoder#rmsScale}), which is the same at every width from 2 bits on: a
   * rate-distortion table, coding one vector at several widths, computes them once.
   */
  static short[] rmsScales(int groupSize, double[] x, int off, int len) {
    // The groups do not depend on the width; 2 is the narrowest width that codes by RMS.
    GroupGeometry vector = new GroupGeometry(2, groupSize, 1, len);
    short[] rms = new short[vector.groupsPerVector()];
    for (int g = 0; g < rms.length; g++) {
      rms[g] = LloydMaxCoder.rmsScale(x, off + vector.groupStart(g), vector.groupLength(g));
    }
    return rms;
  }

  /**
   * {@link #quantize} into the given arrays: {@code codes} at least {@code len} long,
   * {@code scales} and {@code zeros} (read only for the uniform family) at least one per group.
   */
  private static void encode(LevelFamily family, int bits, int groupSize, double[] x, int off,
      int len, short[] rms, byte[] codes, short[] scales, byte[] zeros, double[] recon,
      int reconOff, LloydMaxCoder lloydMax) {
    GroupGeometry vector = new GroupGeometry(bits, groupSize, 1, len);
    int groups = vector.groupsPerVector();
    double[] range = new double[2];
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
        short groupRms = rms != null ? rms[g] : LloydMaxCoder.rmsScale(x, off + start, glen);
        scales[g] = lloydMax.encode(x, off + start, glen, bits, groupRms, codes, start, recon,
            reconOff + start);
      }
    }
  }

  /**
   * Writes the decoded values of {@code code} (length {@code len}) to {@code out[outOff]},
   * {@code out[outOff + stride]}, ...: a row of A^ with stride 1, a column of row-major B^ with
   * stride k.
   */
  static void decode(LevelFamily family, VectorCode code, int groupSize, int len, float[] out,
      int outOff, int stride) {
    int bits = code.bits();
    byte[] codes = code.codes();
    for (int g = 0, start = 0; start < len; g++, start += groupSize) {
      int end = Math.min(len, start + groupSize);
      float scale = Binary16.toFloat(code.scales()[g]);
      if (bits == 1) {
        for (int i = start; i < end; i++) {
          out[outOff + i * stride] = GroupEncoding.signValue(codes[i] & 0xff, scale);
        }
      } else if (family == LevelFamily.UNIFORM) {
        int zero = code.zeros()[g] & 0xff;
        for (int i = start; i < end; i++) {
          out[outOff + i * stride] = GroupEncoding.affineValue(codes[i] & 0xff, zero, scale);
        }
      } else {
        for (int i = start; i < end; i++) {
          out[outOff + i * stride] = lloydMaxValue(bits, codes[i] & 0xff, scale);
        }
      }
    }
  }

  /**
   * {@link #decode} into doubles, stride 1: the values {@link #quantize} wrote to its
   * {@code recon} when it made {@code code} (each decoded value is a float, and the encoder's are
   * those floats).
   */
  static void decode(LevelFamily family, VectorCode code, int groupSize, int len, double[] out,
      int outOff) {
    int bits = code.bits();
    byte[] codes = code.codes();
    for (int g = 0, start = 0; start < len; g++, start += groupSize) {
      int end = Math.min(len, start + groupSize);
      float scale = Binary16.toFloat(code.scales()[g]);
      if (bits == 1) {
        for (int i = start; i < end; i++) {
          out[outOff + i] = GroupEncoding.signValue(codes[i] & 0xff, scale);
        }
      } else if (family == LevelFamily.UNIFORM) {
        int zero = code.zeros()[g] & 0xff;
        for (int i = start; i < end; i++) {
          out[outOff + i] = GroupEncoding.affineValue(codes[i] & 0xff, zero, scale);
        }
      } else {
        for (int i = start; i < end; i++) {
          out[outOff + i] = lloydMaxValue(bits, codes[i] & 0xff, scale);
        }
      }
    }
  }

  static float lloydMaxValue(int bits, int q, float scale) {
    return LloydMaxLevels.level(bits, q) * scale;
  }
}
