package org.loraquant.options;

import java.util.Locale;
import java.util.Set;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.Refinement;
import org.loraquant.codec.SplitRule;

/**
 * The codec flags shared by {@code compress}, {@code recompress} and the Spark job:
 * {@code --rho R --bits-high B --group-size G --split prefix|reference --refine none|search}.
 * Each flag given overrides the corresponding setting of a base (the defaults, or a settings file).
 */
public final class CodecFlags {
  public static final Set<String> OPTIONS = Set.of("--rho", "--bits-high", "--group-size", "--split", "--refine");

  private CodecFlags() {}

  public static CodecSettings apply(Flags flags, CodecSettings base) {
    try {
      CodecSettings s = base;
      if (flags.has("--rho")) {
        s = s.withRho(parseRho(flags.requiredString("--rho")));
      }
      if (flags.has("--bits-high")) {
        s = s.withBitsHigh(flags.integer("--bits-high", base.bitsHigh(), Integer.MIN_VALUE));
      }
      if (flags.has("--group-size")) {
        s = s.withGroupSize(flags.integer("--group-size", base.groupSize(), Integer.MIN_VALUE));
      }
      if (flags.has("--split")) {
        s = s.withSplitRule(parseSplit(flags.requiredString("--split")));
      }
      if (flags.has("--refine")) {
        s = s.withRefinement(parseRefine(flags.requiredString("--refine")));
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
