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

  public VectorCode {
    if (bits < 1 || bits > 8) {
      throw new IllegalArgumentException("bits must be 1..8, got " + bits);
    }
    // One pass OR-ing every code (a loop without a branch, which the JIT vectorizes): a code has a
    // bit at or above {@code bits} exactly when the OR of all of them does. Only then is the first
    // such code looked for, to name it.
    int all = 0;
    for (byte q : codes) {
      all |= q;
    }
    if ((all & 0xff) >>> bits != 0) {
      for (byte q : codes) {
        if ((q & 0xff) >>> bits != 0) {
          throw new IllegalArgumentException("code " + (q & 0xff) + " does not fit " + bits
              + " bits");
        }
      }
    }
  }
}
