package org.loraquant.codec;

/**
 * Quantized codes of {@code vectors} vectors of {@code length} values each, in groups of
 * {@code groupSize} consecutive values along each vector (the last group of a vector may be
 * shorter; a group never spans two vectors; {@link #geometry()} computes every size). For B' (m x c) the vectors are its columns
 * (length m); for A' (c x n) they are its rows (length n), so a group never mixes two components.
 *
 * <p>Codes: value {@code j} of vector {@code v} is code number {@code v * length + j}; code number
 * {@code i} occupies bits {@code [i * bits, (i + 1) * bits)} of {@code codes}, counting bit 0 as
 * the least significant bit of byte 0 (LSB-first, little-endian bit order, no padding between
 * vectors; the last byte is zero-padded).
 *
 * <p>Scales: one per group, group {@code v * groupsPerVector + gi}, stored as IEEE binary16 bits.
 * The codec quantizes with the binary16-rounded scale, so decoding what is stored reproduces the
 * codec's reconstruction exactly.
 *
 * <p>Decoding: for {@code bits > 1} (asymmetric round-to-nearest), {@code x = (q - zero) * scale}
 * with one {@code zeros} byte (unsigned) per group. For {@code bits == 1} (sign code),
 * {@code zeros} is empty and {@code x = q == 1 ? +scale : -scale}; a group whose values are all
 * zero has scale 0 and decodes to zeros.
 */
public record PackedGroups(
    int bits, int groupSize, int vectors, int length, byte[] codes, short[] scales, byte[] zeros)
    implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  public PackedGroups {
    GroupGeometry geometry = new GroupGeometry(bits, groupSize, vectors, length);
    if (codes.length != geometry.codesBytes()) {
      throw new IllegalArgumentException(
          "codes: " + codes.length + " bytes, expected " + geometry.codesBytes());
    }
    if (scales.length != geometry.groups()) {
      throw new IllegalArgumentException("scales: " + scales.length + ", expected " + geometry.groups());
    }
    long zeroCount = bits == 1 ? 0 : geometry.groups();
    if (zeros.length != zeroCount) {
      throw new IllegalArgumentException("zeros: " + zeros.length + ", expected " + zeroCount);
    }
  }

  /** The sizes and group boundaries of these codes. */
  public GroupGeometry geometry() {
    return new GroupGeometry(bits, groupSize, vectors, length);
  }

  public int groupsPerVector() {
    return GroupGeometry.groupsPerVector(length, groupSize);
  }

  /** Bits actually stored: codes, scales (16 each) and zero points (8 each). */
  public long storedBits() {
    return (long) codes.length * 8 + (long) scales.length * 16 + (long) zeros.length * 8;
  }
}
