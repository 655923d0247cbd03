package org.loraquant.codec;

/** Decodes a {@link CompressedLayer} to B^ and A^ exactly as the codec reconstructed them. */
final class LayerDecoder {
  private LayerDecoder() {}

  static DecodedLayer decode(CompressedLayer layer) {
    int m = layer.m();
    int n = layer.n();
    int k = layer.k();
    float[] b = new float[Math.multiplyExact(m, k)];
    float[] a = new float[Math.multiplyExact(k, n)];
    for (QuantTier tier : layer.tiers()) {
      decodeInto(tier.b(), tier.first(), b, k, 1);
      decodeInto(tier.a(), tier.first(), a, 1, n);
    }
    return new DecodedLayer(m, n, layer.rank(), k, b, a);
  }

  /**
   * Writes value j of vector v to {@code out[j * valueStride + (first + v) * vectorStride]}: for
   * B^ (row-major m x k) values step by k and vectors by 1; for A^ (k x n) values by 1, vectors by n.
   */
  private static void decodeInto(PackedGroups groups, int first, float[] out, int valueStride,
      int vectorStride) {
    GroupGeometry geometry = groups.geometry();
    int length = geometry.length();
    int perVector = geometry.groupsPerVector();
    byte[] codes = BitPacking.unpack(groups.codes(), geometry);
    for (int v = 0; v < groups.vectors(); v++) {
      int base = (first + v) * vectorStride;
      for (int g = 0; g < perVector; g++) {
        int group = v * perVector + g;
        float scale = Binary16.toFloat(groups.scales()[group]);
        int zero = groups.bits() == 1 ? 0 : groups.zeros()[group] & 0xff;
        int start = geometry.groupStart(g);
        int end = start + geometry.groupLength(g);
        for (int j = start; j < end; j++) {
          int q = codes[v * length + j];
          out[base + j * valueStride] = groups.bits() == 1
              ? GroupEncoding.signValue(q, scale)
              : GroupEncoding.affineValue(q, zero, scale);
        }
      }
    }
  }
}
