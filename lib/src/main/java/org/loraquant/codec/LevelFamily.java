package org.loraquant.codec;

import java.util.Locale;

/**
 * How a group of the budget mode turns codes into values at 2 bits and more (docs/ALGORITHM.md,
 * "Budget mode"). At 1 bit both families store the sign code of the paper mode (sign x mean|x|,
 * the least-squares scale of a +-1 code).
 */
public enum LevelFamily {
  /**
   * Asymmetric round-to-nearest over the group's [min, max], as the paper mode: per group one
   * binary16 scale and one 8-bit zero point, x = (q - zero) * scale.
   */
  UNIFORM(1),
  /**
   * The Lloyd-Max levels of a unit Gaussian ({@link LloydMaxLevels}) times one binary16 scale per
   * group, no zero point: x = level(b, q) * scale.
   */
  LLOYD_MAX(2);

  /** The number format v2 stores for the family (0 is never used, so a zeroed byte is invalid). */
  private final int id;

  LevelFamily(int id) {
    this.id = id;
  }

  public int id() {
    return id;
  }

  public static LevelFamily ofId(int id) {
    for (LevelFamily f : values()) {
      if (f.id == id) {
        return f;
      }
    }
    throw new IllegalArgumentException("unknown level family id " + id + "; known: 1 (uniform), 2 (lloyd-max)");
  }

  /** The name users write: {@code uniform} or {@code lloyd-max}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Whether each group at this width stores an 8-bit zero point besides its scale. */
  public boolean hasZeroPoints(int bits) {
    return this == UNIFORM && bits >= 2;
  }

  /**
   * Bits stored for one vector of {@code length} values at this width: codes, a binary16 scale per
   * group and, where the family has them, an 8-bit zero point per group.
   */
  public long vectorBits(int bits, int length, int groupSize) {
    GroupGeometry vector = new GroupGeometry(bits, groupSize, 1, length);
    long groups = vector.groups();
    return vector.codeBits() + 16 * groups + (hasZeroPoints(bits) ? 8 * groups : 0);
  }
}
