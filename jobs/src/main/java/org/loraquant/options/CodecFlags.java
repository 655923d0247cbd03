package org.loraquant.options;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
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
        s = s.withGroupSize(groupSize(flags, base.groupSize()));
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

  /**
   * The group size of both modes' flags, else {@code base}; its range is the settings' own check
   * ({@code CompressionSettings.checkGroupSize}).
   */
  static int groupSize(Flags flags, int base) {
    return flags.integer(CodecSetting.GROUP_SIZE.flag(), base, Integer.MIN_VALUE);
  }

  /**
   * The codec flags of both modes as a usage line gives them, from their declarations: the paper
   * mode's, then {@code [--budget B [...]]} with the budget mode's; {@code fleetScope} false leaves
   * out the fleet scope and its weight (for {@code compress}, which compresses one adapter).
   */
  public static String usage(boolean fleetScope) {
    StringBuilder out = new StringBuilder();
    for (CodecSetting s : CodecSetting.of(CodecSetting.Mode.PAPER)) {
      out.append(out.isEmpty() ? "" : " ").append(optional(s, s.value()));
    }
    String scopes = fleetScope ? CodecSetting.BUDGET_SCOPE.value()
        : String.join("|", CodecSetting.BUDGET_SCOPE.choices().stream()
            .filter(c -> !c.equals(BudgetSettings.scopeName(BudgetScope.FLEET))).toList());
    out.append(" [").append(CodecSetting.BUDGET.flag()).append(' ').append(CodecSetting.BUDGET.value());
    out.append(" [").append(CodecSetting.BUDGET_SCOPE.flag()).append(' ').append(scopes);
    if (fleetScope) {
      out.append(' ').append(optional(CodecSetting.BUDGET_WEIGHT, CodecSetting.BUDGET_WEIGHT.value()));
    }
    out.append(']');
    for (String flag : CodecSetting.flags(CodecSetting.Mode.BUDGET)) {
      CodecSetting s = setting(flag);
      if (s != CodecSetting.BUDGET && s != CodecSetting.BUDGET_SCOPE && s != CodecSetting.BUDGET_WEIGHT) {
        out.append(' ').append(optional(s, s.value()));
      }
    }
    return out.append(']').toString();
  }

  private static String optional(CodecSetting s, String value) {
    return "[" + s.flag() + " " + value + "]";
  }

  private static CodecSetting setting(String flag) {
    for (CodecSetting s : CodecSetting.values()) {
      if (s.flag().equals(flag)) {
        return s;
      }
    }
    throw new IllegalArgumentException(flag);
  }

  /**
   * The value of {@code setting} (a name) among its declared choices, each spelled by {@code
   * spelling} (in any case when {@code anyCase}); anything else is a usage error that names the
   * flag and the choices.
   */
  static <E extends Enum<E>> E choice(CodecSetting setting, String raw, boolean anyCase, E[] values,
      Function<E, String> spelling) {
    String wanted = anyCase ? raw.toLowerCase(Locale.ROOT) : raw;
    for (E e : values) {
      if (spelling.apply(e).equals(wanted) && setting.choices().contains(wanted)) {
        return e;
      }
    }
    throw new UsageException(setting.flag() + " must be " + choicesText(setting.choices())
        + ", got '" + raw + "'");
  }

  /** {@code a or b}, {@code a, b or c}. */
  static String choicesText(List<String> choices) {
    int last = choices.size() - 1;
    return last == 0 ? choices.get(0)
        : String.join(", ", choices.subList(0, last)) + " or " + choices.get(last);
  }

  static double parseRho(String raw) {
    try {
      return Double.parseDouble(raw);
    } catch (NumberFormatException e) {
      throw new UsageException(CodecSetting.RHO.flag() + " expects a number in (0, 1], got '" + raw + "'");
    }
  }

  public static SplitRule parseSplit(String raw) {
    return choice(CodecSetting.SPLIT, raw, true, SplitRule.values(), CodecFlags::lowerCase);
  }

  public static Refinement parseRefine(String raw) {
    return choice(CodecSetting.REFINE, raw, true, Refinement.values(), CodecFlags::lowerCase);
  }

  private static String lowerCase(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
