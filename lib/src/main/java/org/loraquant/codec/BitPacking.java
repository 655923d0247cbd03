package org.loraquant.codec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Codes of {@code bits} bits each, packed LSB-first as {@link PackedGroups} specifies: code i at
 * bits [i * bits, (i + 1) * bits), bit 0 the least significant bit of byte 0, last byte zero-padded.
 * Sizes come from {@link GroupGeometry}.
 */
public final class BitPacking {
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INTS =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  /**
   * Times eight 0/1 bytes read as a little-endian long, moves byte i's bit to bit 56 + i. Every
   * partial product lands on its own bit (8i - 7j are distinct for i, j in 0..7), so nothing
   * carries into the top byte.
   */
  private static final long GATHER_BITS = 0x0102040810204080L;
  /**
   * Times four 2-bit codes in bytes read as a little-endian int, moves code i to bits 18 + 2i;
   * the partial products (bits 18 + 8i - 6j, two bits wide) never overlap.
   */
  private static final long GATHER_PAIRS = 0x41041L;

  private BitPacking() {}

  public static int packedBytes(long count, int bits) {
    return Math.toIntExact(GroupGeometry.bytesForBits(count * bits));
  }

  /** Packs the codes of {@code geometry} found at {@code codes[from..]}. */
  public static byte[] pack(byte[] codes, int from, GroupGeometry geometry) {
    return pack(codes, from, Math.toIntExact(geometry.values()), geometry.bits());
  }

  /** Unpacks every code of {@code geometry} from {@code packed}, one byte per value. */
  public static byte[] unpack(byte[] packed, GroupGeometry geometry) {
    return unpack(packed, Math.toIntExact(geometry.values()), geometry.bits());
  }

  /** Packs {@code codes[0..count)}, each already in [0, 2^bits) (the fast paths rely on it). */
  public static byte[] pack(byte[] codes, int count, int bits) {
    return pack(codes, 0, count, bits);
  }

  /** Packs {@code codes[from..from + count)}, each already in [0, 2^bits). */
  public static byte[] pack(byte[] codes, int from, int count, int bits) {
    byte[] out = new byte[packedBytes(count, bits)];
    if (bits == 8) {
      System.arraycopy(codes, from, out, 0, count);
      return out;
    }
    int end = from + count;
    int i = from;
    int p = 0;
    // 1 and 2 bits, the codec's tiers, take eight or four codes per multiplication.
    if (bits == 1) {
      for (; i + 8 <= end; i += 8) {
        out[p++] = (byte) (((long) LONGS.get(codes, i) * GATHER_BITS) >>> 56);
      }
    } else if (bits == 2) {
      for (; i + 4 <= end; i += 4) {
        out[p++] = (byte) (((int) INTS.get(codes, i) & 0xffffffffL) * GATHER_PAIRS >>> 18);
      }
    } else if (bits == 4) {
      for (; i + 2 <= end; i += 2) {
        out[p++] = (byte) (codes[i] | codes[i + 1] << 4);
      }
    }
    // Whole bytes are done: the rest starts byte-aligned.
    long acc = 0;
    int filled = 0;
    for (; i < end; i++) {
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
