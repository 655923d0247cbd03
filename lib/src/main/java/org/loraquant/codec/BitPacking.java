package org.loraquant.codec;

/**
 * Codes of {@code bits} bits each, packed LSB-first as {@link PackedGroups} specifies: code i at
 * bits [i * bits, (i + 1) * bits), bit 0 the least significant bit of byte 0, last byte zero-padded.
 */
public final class BitPacking {
  private BitPacking() {}

  public static int packedBytes(long count, int bits) {
    return Math.toIntExact((count * bits + 7) / 8);
  }

  /** Packs {@code codes[0..count)}, each already in [0, 2^bits). */
  public static byte[] pack(byte[] codes, int count, int bits) {
    byte[] out = new byte[packedBytes(count, bits)];
    if (bits == 8) {
      System.arraycopy(codes, 0, out, 0, count);
      return out;
    }
    int i = 0;
    int p = 0;
    if (bits == 1) {
      for (; i + 8 <= count; i += 8) {
        out[p++] = (byte) (codes[i] | codes[i + 1] << 1 | codes[i + 2] << 2 | codes[i + 3] << 3
            | codes[i + 4] << 4 | codes[i + 5] << 5 | codes[i + 6] << 6 | codes[i + 7] << 7);
      }
    } else if (bits == 2) {
      for (; i + 4 <= count; i += 4) {
        out[p++] = (byte) (codes[i] | codes[i + 1] << 2 | codes[i + 2] << 4 | codes[i + 3] << 6);
      }
    } else if (bits == 4) {
      for (; i + 2 <= count; i += 2) {
        out[p++] = (byte) (codes[i] | codes[i + 1] << 4);
      }
    }
    // Whole bytes are done: the rest starts byte-aligned.
    long acc = 0;
    int filled = 0;
    for (; i < count; i++) {
      acc |= (long) (codes[i] & 0xff) << filled;
      filled += bits;
      if (filled >= 8) {
        out[p++] = (byte) acc;
        acc >>>= 8;
        filled -= 8;
      }
    }
    if (filled > 0) {
      out[p] = (byte) acc;
    }
    return out;
  }

  /** Unpacks {@code count} codes of {@code bits} bits from {@code packed}. */
  public static byte[] unpack(byte[] packed, int count, int bits) {
    if (packed.length < packedBytes(count, bits)) {
      throw new IllegalArgumentException("packed codes: " + packed.length + " bytes, need "
          + packedBytes(count, bits) + " for " + count + " codes of " + bits + " bits");
    }
    byte[] codes = new byte[count];
    int mask = (1 << bits) - 1;
    long acc = 0;
    int available = 0;
    int p = 0;
    for (int i = 0; i < count; i++) {
      if (available < bits) {
        acc |= (long) (packed[p++] & 0xff) << available;
        available += 8;
      }
      codes[i] = (byte) (acc & mask);
      acc >>>= bits;
      available -= bits;
    }
    return codes;
  }
}
