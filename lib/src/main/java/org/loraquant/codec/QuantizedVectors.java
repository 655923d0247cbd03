package org.loraquant.codec;

/**
 * Working state of one side (B' columns or A' rows) of one tier: unpacked codes, scales, zero
 * points, and the decoded values written into the full reconstruction array. Vectors are
 * components {@code first .. first + count - 1}, each {@code length} long and contiguous in
 * {@code source} / {@code recon} at offset {@code component * length}.
 */
final class QuantizedVectors {
  final int bits;
  final int groupSize;
  final int first;
  final int count;
  final int length;
  final int groupsPerVector;
  final double[] source;
  final double[] recon;
  final byte[] codes;
  final short[] scales;
  final byte[] zeros;

  private QuantizedVectors(int bits, int groupSize, int first, int count, int length,
      double[] source, double[] recon) {
    this.bits = bits;
    this.groupSize = groupSize;
    this.first = first;
    this.count = count;
    this.length = length;
    this.groupsPerVector = PackedGroups.groupsPerVector(length, groupSize);
    this.source = source;
    this.recon = recon;
    this.codes = new byte[Math.multiplyExact(count, length)];
    this.scales = new short[count * groupsPerVector];
    this.zeros = new byte[bits == 1 ? 0 : count * groupsPerVector];
  }

  /** Plain round-to-nearest (min/max ranges, mean-|x| sign scales) of every group. */
  static QuantizedVectors roundToNearest(int bits, int groupSize, int first, int count, int length,
      double[] source, double[] recon) {
    QuantizedVectors qv = new QuantizedVectors(bits, groupSize, first, count, length, source, recon);
    for (int v = 0; v < count; v++) {
      for (int g = 0; g < qv.groupsPerVector; g++) {
        int start = qv.groupStart(v, g);
        int len = qv.groupLength(g);
        int local = start - first * length;
        if (bits == 1) {
          qv.scales[v * qv.groupsPerVector + g] =
              GroupEncoding.encodeSign(source, start, len, 1.0, qv.codes, local, recon, start);
        } else {
          double lo = minimum(source, start, len);
          double hi = maximum(source, start, len);
          int packed = GroupEncoding.encodeAffine(source, start, len, bits, lo, hi, qv.codes, local,
              recon, start);
          qv.setParams(v, g, packed);
        }
      }
    }
    return qv;
  }

  /** Min of x[start, start + len), len >= 1; four lanes (min is exact in any order). */
  static double minimum(double[] x, int start, int len) {
    double a = x[start];
    double b = a;
    double c = a;
    double d = a;
    int i = start;
    int end = start + len;
    for (; i + 4 <= end; i += 4) {
      a = x[i] < a ? x[i] : a;
      b = x[i + 1] < b ? x[i + 1] : b;
      c = x[i + 2] < c ? x[i + 2] : c;
      d = x[i + 3] < d ? x[i + 3] : d;
    }
    for (; i < end; i++) {
      a = x[i] < a ? x[i] : a;
    }
    a = b < a ? b : a;
    c = d < c ? d : c;
    return c < a ? c : a;
  }

  /** Max of x[start, start + len), len >= 1. */
  static double maximum(double[] x, int start, int len) {
    double a = x[start];
    double b = a;
    double c = a;
    double d = a;
    int i = start;
    int end = start + len;
    for (; i + 4 <= end; i += 4) {
      a = x[i] > a ? x[i] : a;
      b = x[i + 1] > b ? x[i + 1] : b;
      c = x[i + 2] > c ? x[i + 2] : c;
      d = x[i + 3] > d ? x[i + 3] : d;
    }
    for (; i < end; i++) {
      a = x[i] > a ? x[i] : a;
    }
    a = b > a ? b : a;
    c = d > c ? d : c;
    return c > a ? c : a;
  }

  /** Index of the group's first value in {@code source} / {@code recon}. */
  int groupStart(int v, int g) {
    return (first + v) * length + g * groupSize;
  }

  int groupLength(int g) {
    return Math.min(groupSize, length - g * groupSize);
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
    System.arraycopy(newCodes, 0, codes, start - first * length, len);
    System.arraycopy(newRecon, 0, recon, start, len);
    if (bits == 1) {
      scales[v * groupsPerVector + g] = (short) params;
    } else {
      setParams(v, g, params);
    }
  }

  /** An independent copy whose decoded values live in {@code otherRecon} (already filled). */
  QuantizedVectors copyInto(double[] otherRecon) {
    QuantizedVectors c = new QuantizedVectors(bits, groupSize, first, count, length, source, otherRecon);
    System.arraycopy(codes, 0, c.codes, 0, codes.length);
    System.arraycopy(scales, 0, c.scales, 0, scales.length);
    System.arraycopy(zeros, 0, c.zeros, 0, zeros.length);
    return c;
  }

  PackedGroups toPacked() {
    return new PackedGroups(bits, groupSize, count, length,
        BitPacking.pack(codes, codes.length, bits), scales.clone(), zeros.clone());
  }
}
