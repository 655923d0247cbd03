package org.loraquant.codec;

/**
 * Working state of one side (B' columns or A' rows) of one tier: unpacked codes, scales, zero
 * points, and the decoded values written into the full reconstruction array. Vectors are
 * components {@code first .. first + count - 1}, each {@code length} long and contiguous in
 * {@code source} / {@code recon} at offset {@code component * length}. Codes are indexed the
 * same way, one byte per value, so the tiers of one side can share one codes array.
 */
final class QuantizedVectors {
  final int bits;
  final int groupSize;
  final int first;
  final int count;
  final int length;
  final int groupsPerVector;
  /** Geometry of the {@code count} vectors this side of the tier holds. */
  final GroupGeometry geometry;
  final double[] source;
  final double[] recon;
  final byte[] codes;
  final short[] scales;
  final byte[] zeros;

  private QuantizedVectors(int bits, int groupSize, int first, int count, int length,
      double[] source, double[] recon, byte[] codes) {
    this.bits = bits;
    this.groupSize = groupSize;
    this.first = first;
    this.count = count;
    this.length = length;
    this.geometry = new GroupGeometry(bits, groupSize, count, length);
    this.groupsPerVector = geometry.groupsPerVector();
    this.source = source;
    this.recon = recon;
    if (codes.length < (long) (first + count) * length) {
      throw new IllegalArgumentException("codes array too short for components up to "
          + (first + count) + " of length " + length);
    }
    this.codes = codes;
    this.scales = new short[count * groupsPerVector];
    this.zeros = new byte[bits == 1 ? 0 : count * groupsPerVector];
  }

  /**
   * Plain round-to-nearest (min/max ranges, mean-|x| sign scales) of every group; codes go to
   * {@code codes} at the values' own indexes (at least (first + count) * length bytes; other
   * tiers' ranges are left alone).
   */
  static QuantizedVectors roundToNearest(int bits, int groupSize, int first, int count, int length,
      double[] source, double[] recon, byte[] codes) {
    QuantizedVectors qv =
        new QuantizedVectors(bits, groupSize, first, count, length, source, recon, codes);
    double[] range = new double[2];
    for (int v = 0; v < count; v++) {
      for (int g = 0; g < qv.groupsPerVector; g++) {
        int start = qv.groupStart(v, g);
        int len = qv.groupLength(g);
        if (bits == 1) {
          qv.scales[v * qv.groupsPerVector + g] =
              GroupEncoding.encodeSign(source, start, len, 1.0, qv.codes, start, recon, start);
        } else {
          range(source, start, len, range);
          int packed = GroupEncoding.encodeAffine(source, start, len, bits, range[0], range[1],
              qv.codes, start, recon, start);
          qv.setParams(v, g, packed);
        }
      }
    }
    return qv;
  }

  /**
   * Min and max of x[start, start + len), len >= 1, into out[0] and out[1]: one pass, four lanes
   * each (min and max are exact in any order).
   */
  static void range(double[] x, int start, int len, double[] out) {
    double lo0 = x[start];
    double lo1 = lo0;
    double lo2 = lo0;
    double lo3 = lo0;
    double hi0 = lo0;
    double hi1 = lo0;
    double hi2 = lo0;
    double hi3 = lo0;
    int i = start;
    int end = start + len;
    for (; i + 4 <= end; i += 4) {
      double x0 = x[i];
      double x1 = x[i + 1];
      double x2 = x[i + 2];
      double x3 = x[i + 3];
      lo0 = x0 < lo0 ? x0 : lo0;
      lo1 = x1 < lo1 ? x1 : lo1;
      lo2 = x2 < lo2 ? x2 : lo2;
      lo3 = x3 < lo3 ? x3 : lo3;
      hi0 = x0 > hi0 ? x0 : hi0;
      hi1 = x1 > hi1 ? x1 : hi1;
      hi2 = x2 > hi2 ? x2 : hi2;
      hi3 = x3 > hi3 ? x3 : hi3;
    }
    for (; i < end; i++) {
      lo0 = x[i] < lo0 ? x[i] : lo0;
      hi0 = x[i] > hi0 ? x[i] : hi0;
    }
    lo0 = lo1 < lo0 ? lo1 : lo0;
    lo2 = lo3 < lo2 ? lo3 : lo2;
    hi0 = hi1 > hi0 ? hi1 : hi0;
    hi2 = hi3 > hi2 ? hi3 : hi2;
    out[0] = lo2 < lo0 ? lo2 : lo0;
    out[1] = hi2 > hi0 ? hi2 : hi0;
  }

  /** Index of the group's first value in {@code source} / {@code recon}. */
  int groupStart(int v, int g) {
    return (first + v) * length + geometry.groupStart(g);
  }

  int groupLength(int g) {
    return geometry.groupLength(g);
  }

  /** Stores the result of {@link GroupEncoding#encodeAffine} for group g of vector v. */
  void setParams(int v, int g, int packedParams) {
    int index = v * groupsPerVector + g;
    scales[index] = (short) packedParams;
    zeros[index] = (byte) (packedParams >>> 16);
  }

  /** Replaces group g of vector v with codes and decoded values computed elsewhere. */
  void replaceGroup(int v, int g, byte[] newCodes, double[] newRecon, int params) {
    int start = groupStart(v, g);
    int len = groupLength(g);
    System.arraycopy(newCodes, 0, codes, start, len);
    System.arraycopy(newRecon, 0, recon, start, len);
    if (bits == 1) {
      scales[v * groupsPerVector + g] = (short) params;
    } else {
      setParams(v, g, params);
    }
  }

  /** An independent copy whose decoded values live in {@code otherRecon} (already filled). */
  QuantizedVectors copyInto(double[] otherRecon) {
    byte[] ownCodes = new byte[(first + count) * length];
    QuantizedVectors c =
        new QuantizedVectors(bits, groupSize, first, count, length, source, otherRecon, ownCodes);
    System.arraycopy(codes, first * length, ownCodes, first * length, count * length);
    System.arraycopy(scales, 0, c.scales, 0, scales.length);
    System.arraycopy(zeros, 0, c.zeros, 0, zeros.length);
    return c;
  }

  PackedGroups toPacked() {
    return new PackedGroups(bits, groupSize, count, length,
        BitPacking.pack(codes, first * length, geometry), scales.clone(),
        zeros.clone());
  }
}
