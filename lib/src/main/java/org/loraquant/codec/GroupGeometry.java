package org.loraquant.codec;

/**
 * The shape of a block of quantized codes, and the only place its sizes are computed: {@code
 * vectors} vectors of {@code length} values each, every value a code of {@code bits} bits, each
 * vector cut into groups of {@code groupSize} consecutive values. When {@code groupSize} does not
 * divide {@code length}, the last group of each vector (the tail group) is shorter; a group never
 * spans two vectors. Codes are packed as {@link BitPacking} writes them: value {@code j} of vector
 * {@code v} is code {@code v * length + j}, with no padding between vectors and the last byte
 * zero-padded.
 *
 * <pre>
 *   vector v:  | group 0: groupSize | group 1: groupSize | ... | tail: length - (g-1)*groupSize |
 *   codes:     vectors * length codes of `bits` bits, LSB-first   = codesBytes() bytes
 *   scales:    one per group                                      = groups() binary16 values
 * </pre>
 *
 * <p>Whether a group also stores a zero point depends on the level family, not on the geometry,
 * so callers count those ({@link PackedGroups}, {@link LevelFamily#vectorBits}). The budget mode,
 * whose vectors each have their own width, uses one geometry per vector ({@code vectors == 1}).
 *
 * @param bits bits per code, 1..8
 * @param groupSize values per group, at least 1
 * @param vectors number of vectors, at least 0
 * @param length values per vector, at least 0
 */
public record GroupGeometry(int bits, int groupSize, int vectors, int length) {

  public GroupGeometry {
    if (bits < 1 || bits > 8) {
      throw new IllegalArgumentException("bits must be 1..8, got " + bits);
    }
    if (groupSize < 1) {
      throw new IllegalArgumentException("group size must be positive, got " + groupSize);
    }
    if (vectors < 0 || length < 0) {
      throw new IllegalArgumentException(
          "vectors and length must not be negative, got " + vectors + " x " + length);
    }
  }

  /** Groups in a vector of {@code length} values: the ceiling of length / groupSize. */
  public static int groupsPerVector(int length, int groupSize) {
    // In long: length + groupSize - 1 may pass Integer.MAX_VALUE (sizes read from a file).
    return (int) (((long) length + groupSize - 1) / groupSize);
  }

  /** Bytes that hold {@code bits} packed bits, the last byte zero-padded. */
  public static long bytesForBits(long bits) {
    return (bits + 7) / 8;
  }

  public int groupsPerVector() {
    return groupsPerVector(length, groupSize);
  }

  /** Groups over all vectors: one scale each. */
  public long groups() {
    return (long) vectors * groupsPerVector();
  }

  /** Codes over all vectors, one per value. */
  public long values() {
    return (long) vectors * length;
  }

  /** Bits of the codes alone, without padding. */
  public long codeBits() {
    return values() * bits;
  }

  /** Bytes of the packed codes. */
  public long codesBytes() {
    return bytesForBits(codeBits());
  }

  /** Offset of group {@code g}'s first value inside its vector. */
  public int groupStart(int g) {
    return g * groupSize;
  }

  /** Values in group {@code g}: groupSize, except in the tail group. */
  public int groupLength(int g) {
    return Math.min(groupSize, length - g * groupSize);
  }

  /** The group that value {@code j} of a vector falls in. */
  public int groupOf(int j) {
    return j / groupSize;
  }

  /** Values in the last group of a vector (groupSize when it divides length; 0 for empty vectors). */
  public int tailGroupLength() {
    return length == 0 ? 0 : groupLength(groupsPerVector() - 1);
  }
}
