package org.loraquant.codec;

/**
 * One vector of the budget mode (a column of B' or a row of A') quantized at {@code bits} 1..8:
 * one unpacked code per value, a binary16 scale per group, and for the uniform family at 2 bits and
 * more an 8-bit zero point per group ({@code zeros} is empty otherwise). Groups are as in
 * {@link PackedGroups}: {@code groupSize} consecutive values, the last one possibly shorter.
 */
public record VectorCode(int bits, byte[] codes, short[] scales, byte[] zeros)
    implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  /** The codes read eight at a time (the byte order does not matter to an OR). */
  private static final java.lang.invoke.VarHandle LONGS =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class,
          java.nio.ByteOrder.LITTLE_ENDIAN);

  public VectorCode {
    if (bits < 1 || bits > 8) {
      throw new IllegalArgumentException("bits must be 1..8, got " + bits);
    }
    // One pass OR-ing every code, eight at a time as the bytes of a long (a byte loop ran at
    // about a code per cycle: JDK 17 does not vectorize that reduction): a code has a bit at or
    // above {@code bits} exactly when the OR of all of them does, in any of the eight byte lanes.
    // Only then is the first such code looked for, to name it.
    long all = 0;
    int words = codes.length >>> 3;
    for (int w = 0; w < words; w++) {
      all |= (long) LONGS.get(codes, w << 3);
    }
    for (int i = words << 3; i < codes.length; i++) {
      all |= codes[i] & 0xffL;
    }
    long tooWide = ((0xffL << bits) & 0xffL) * 0x0101010101010101L;
    if ((all & tooWide) != 0) {
      for (byte q : codes) {
        if ((q & 0xff) >>> bits != 0) {
          throw new IllegalArgumentException("code " + (q & 0xff) + " does not fit " + bits
              + " bits");
        }
      }
    }
  }
}
