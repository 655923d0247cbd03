package org.loraquant.options;

import java.util.Locale;
import java.util.Set;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.Refinement;
import org.loraquant.codec.SplitRule;

/**
 * The codec flags shared by {@code compress}, {@code recompress} and the Spark job:
 * {@code --rho R --bits-high B --group-size G --split prefix|reference --refine none|search}.
 * Each flag given overrides the corresponding setting of a base (the defaults, or a settings file).
 */
public final class CodecFlags {
  /** The paper mode's flags and the group size, from their declaration ({@link CodecSetting}). */
  public static final Set<String> OPTIONS = Set.copyOf(
      CodecSetting.of(CodecSetting.Mode.PAPER).stream().map(CodecSetting::flag).toList());

  private CodecFlags() {}

  public static CodecSettings apply(Flags flags, CodecSettings base) {
    try {
      CodecSettings s = base;
      if (flags.has(CodecSetting.RHO.flag())) {
        s = s.withRho(parseRho(flags.requiredString(CodecSetting.RHO.flag())));
      }
      if (flags.has(CodecSetting.BITS_HIGH.flag())) {
        s = s.withBitsHigh(flags.integer(CodecSetting.BITS_HIGH.flag(), base.bitsHigh(), Integer.MIN_VALUE));
      }
      if (flags.has(CodecSetting.GROUP_SIZE.flag())) {
        s = s.withGroupSize(flags.integer(CodecSetting.GROUP_SIZE.flag(), base.groupSize(), Integer.MIN_VALUE));
      }
      if (flags.has(CodecSetting.SPLIT.flag())) {
        s = s.withSplitRule(parseSplit(flags.requiredString(CodecSetting.SPLIT.flag())));
      }
      if (flags.has(CodecSetting.REFINE.flag())) {
        s = s.withRefinement(parseRefine(flags.requiredString(CodecSetting.REFINE.flag())));
      }
      return s;
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  static double parseRho(String raw) {
    try {
      return Double.parseDouble(raw);
    } catch (NumberFormatException e) {
      throw new UsageException("--rho expects a number in (0, 1], got '" + raw + "'");
    }
  }

  public static SplitRule parseSplit(String raw) {
    try {
      return SplitRule.valueOf(raw.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new UsageException("--split must be prefix or reference, got '" + raw + "'");
    }
  }

  public static Refinement parseRefine(String raw) {
    try {
      return Refinement.valueOf(raw.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new UsageException("--refine must be none or search, got '" + raw + "'");
    }
  }
}
