package org.loraquant.codec;

import java.util.Locale;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/**
 * Validated LoRAQuant settings. Serializable so a Spark driver can ship them to executors.
 *
 * @param rho energy share of the high tier, in (0, 1]
 * @param splitRule how h follows from rho
 * @param bitsHigh bits of the high tier, 1..8 (1 makes it a sign code like the low tier)
 * @param groupSize values per quantization group, at least 1
 * @param refinement optional search over group parameters
 */
public record CodecSettings(double rho, SplitRule splitRule, int bitsHigh, int groupSize,
    Refinement refinement) implements CompressionSettings {

  private static final long serialVersionUID = 1L;

  /** Bumped whenever the same settings would produce different bytes. */
  public static final int ALGORITHM_VERSION = 1;

  public static final double DEFAULT_RHO = 0.8;
  public static final int DEFAULT_BITS_HIGH = 2;
  public static final int DEFAULT_GROUP_SIZE = 128;

  public CodecSettings {
    if (!(rho > 0 && rho <= 1)) {
      throw new IllegalArgumentException("Invalid rho: " + rho + "; must be in (0, 1], e.g. 0.8");
    }
    if (splitRule == null) {
      throw new IllegalArgumentException("Invalid split rule: null; use PREFIX or REFERENCE");
    }
    if (bitsHigh < 1 || bitsHigh > 8) {
      throw new IllegalArgumentException("Invalid bits_high: " + bitsHigh + "; must be 1..8 (2 or 3 in the paper)");
    }
    CompressionSettings.checkGroupSize(groupSize);
    if (refinement == null) {
      throw new IllegalArgumentException("Invalid refinement: null; use NONE or SEARCH");
    }
  }

  /** rho 0.8, PREFIX, 2 bits, group 128, no refinement. */
  public static CodecSettings defaults() {
    return new CodecSettings(DEFAULT_RHO, SplitRule.PREFIX, DEFAULT_BITS_HIGH, DEFAULT_GROUP_SIZE,
        Refinement.NONE);
  }

  public CodecSettings withRho(double value) {
    return new CodecSettings(value, splitRule, bitsHigh, groupSize, refinement);
  }

  public CodecSettings withSplitRule(SplitRule value) {
    return new CodecSettings(rho, value, bitsHigh, groupSize, refinement);
  }

  public CodecSettings withBitsHigh(int value) {
    return new CodecSettings(rho, splitRule, value, groupSize, refinement);
  }

  public CodecSettings withGroupSize(int value) {
    return new CodecSettings(rho, splitRule, bitsHigh, value, refinement);
  }

  public CodecSettings withRefinement(Refinement value) {
    return new CodecSettings(rho, splitRule, bitsHigh, groupSize, value);
  }

  /**
   * The precision tiers for a layer with the given singular values (descending): components
   * 0..h-1 at bitsHigh, h..k-1 at 1 bit, empty tiers omitted. The one place that decides tiers, so
   * further tiers can be added here.
   */
  public TierPlan tierPlan(double[] singularValues) {
    int k = singularValues.length;
    int h = splitRule.splitPoint(singularValues, rho);
    List<TierSpec> tiers = new ArrayList<>(2);
    if (h > 0) {
      tiers.add(new TierSpec(bitsHigh, 0, h));
    }
    if (k - h > 0) {
      tiers.add(new TierSpec(1, h, k - h));
    }
    return new TierPlan(k, h, tiers);
  }

  /**
   * Canonical text of everything that determines the output bytes (settings and algorithm
   * version), stable across JVMs and locales, e.g.
   * {@code loraquant-codec/1;rho=0.8;split=PREFIX;bits_high=2;group=128;refine=NONE}. Two settings
   * produce the same bytes for the same input (and LAPACK backend) iff their fingerprints match.
   */
  @Override
  public String fingerprint() {
    return "loraquant-codec/" + ALGORITHM_VERSION
        + ";" + CodecSetting.RHO.fingerprintKey() + "="
        + BigDecimal.valueOf(rho).stripTrailingZeros().toPlainString()
        + ";" + CodecSetting.SPLIT.fingerprintKey() + "=" + splitRule.name()
        + ";" + CodecSetting.BITS_HIGH.fingerprintKey() + "=" + bitsHigh
        + ";" + CodecSetting.GROUP_SIZE.fingerprintKey() + "=" + groupSize
        + ";" + CodecSetting.REFINE.fingerprintKey() + "=" + refinement.name();
  }

  @Override
  public CodecSetting.Mode mode() {
    return CodecSetting.Mode.PAPER;
  }

  @Override
  public Object value(CodecSetting setting) {
    return switch (setting) {
      case RHO -> rho;
      case BITS_HIGH -> bitsHigh;
      case GROUP_SIZE -> groupSize;
      case SPLIT -> splitRule.name().toLowerCase(Locale.ROOT);
      case REFINE -> refinement.name().toLowerCase(Locale.ROOT);
      // The paper mode's levels are fixed: asymmetric round-to-nearest (LevelFamily.UNIFORM).
      case LEVELS -> LevelFamily.UNIFORM.label();
      default -> null;
    };
  }
}
