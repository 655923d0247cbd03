package org.loraquant.options;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.FleetWeight;
import org.loraquant.codec.LevelFamily;

/**
 * The budget-mode flags of {@code compress} (docs/ALGORITHM.md, "Budget mode"):
 * {@code --budget B --budget-scope layer|adapter --levels uniform|lloyd-max --refit N}, with
 * {@code --group-size G} shared with the paper mode. {@code --budget} selects the mode; the
 * paper mode's own flags then clash with it, and the other budget flags need it.
 */
public final class BudgetFlags {
  /** The budget mode's own flags, from their declaration ({@link CodecSetting}). */
  public static final Set<String> OPTIONS = Set.copyOf(CodecSetting.flags(CodecSetting.Mode.BUDGET));
  /** Flags only the paper mode has: given with --budget they are a usage error. */
  static final List<String> PAPER_ONLY = CodecSetting.flags(CodecSetting.Mode.PAPER);

  private BudgetFlags() {}

  /** True if the flags ask for the budget mode. */
  public static boolean selected(Flags flags) {
    return flags.has(CodecSetting.BUDGET.flag());
  }

  /**
   * The budget settings of the flags (only when {@link #selected}); defaults: scope adapter,
   * Lloyd-Max levels, 2 refit steps, the paper mode's group size.
   *
   * @throws UsageException on a clash with a paper-mode flag or a bad value, in one line
   */
  public static BudgetSettings settings(Flags flags) {
    List<String> clashing = new ArrayList<>();
    for (String flag : PAPER_ONLY) {
      if (flags.has(flag)) {
        clashing.add(flag);
      }
    }
    if (!clashing.isEmpty()) {
      String budgetFlag = CodecSetting.BUDGET.flag();
      throw new UsageException(budgetFlag + " cannot be combined with " + String.join(", ", clashing)
          + ": " + budgetFlag + " chooses every component's width itself (budget mode); drop "
          + (clashing.size() == 1 ? "it" : "them") + ", or drop " + budgetFlag + " for the paper mode");
    }
    double budget = parseBudget(flags.requiredString(CodecSetting.BUDGET.flag()));
    try {
      BudgetSettings s = BudgetSettings.of(budget)
          .withGroupSize(CodecSettings.DEFAULT_GROUP_SIZE);
      if (flags.has(CodecSetting.GROUP_SIZE.flag())) {
        s = s.withGroupSize(CodecFlags.groupSize(flags, s.groupSize()));
      }
      if (flags.has(CodecSetting.BUDGET_SCOPE.flag())) {
        s = s.withScope(parseScope(flags.requiredString(CodecSetting.BUDGET_SCOPE.flag())));
      }
      if (flags.has(CodecSetting.LEVELS.flag())) {
        s = s.withLevels(parseLevels(flags.requiredString(CodecSetting.LEVELS.flag())));
      }
      if (flags.has(CodecSetting.REFIT.flag())) {
        s = s.withRefit(flags.integer(CodecSetting.REFIT.flag(), s.refit(), 0));
      }
      if (flags.has(CodecSetting.BUDGET_WEIGHT.flag())) {
        if (s.scope() != BudgetScope.FLEET) {
          throw new UsageException(CodecSetting.BUDGET_WEIGHT.flag()
              + " weighs adapters against each other, so it applies to "
              + CodecSetting.BUDGET_SCOPE.flag() + " " + BudgetSettings.scopeName(BudgetScope.FLEET) + " only");
        }
        s = s.withWeight(parseWeight(flags.requiredString(CodecSetting.BUDGET_WEIGHT.flag())));
      }
      return s;
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /** In the paper mode the budget-mode flags have no meaning: each one given is a usage error. */
  public static void requireAbsent(Flags flags) {
    for (String flag : OPTIONS.stream().sorted().toList()) {
      if (flags.has(flag)) {
        String budget = CodecSetting.BUDGET.flag();
        throw new UsageException(flag + " applies to the budget mode only; add " + budget + " "
            + CodecSetting.BUDGET.value() + " (e.g. " + budget + " 1.4)");
      }
    }
  }

  static double parseBudget(String raw) {
    double value;
    try {
      value = Double.parseDouble(raw);
    } catch (NumberFormatException e) {
      value = Double.NaN;
    }
    // Plain decimal only: Java also parses "1.4f", "0x1.6p0" and "Infinity", which nobody means.
    if (!(value > 0 && value <= BudgetSettings.MAX_BUDGET_BITS) || !raw.matches("[0-9.eE+-]+")) {
      throw new UsageException(CodecSetting.BUDGET.flag()
          + " expects effective bits per parameter in (0, 16], e.g. 1.4, got '" + raw + "'");
    }
    return value;
  }

  static BudgetScope parseScope(String raw) {
    return CodecFlags.choice(CodecSetting.BUDGET_SCOPE, raw, false, BudgetScope.values(),
        BudgetSettings::scopeName);
  }

  static FleetWeight parseWeight(String raw) {
    return CodecFlags.choice(CodecSetting.BUDGET_WEIGHT, raw, false, FleetWeight.values(),
        FleetWeight::spelling);
  }

  static LevelFamily parseLevels(String raw) {
    return CodecFlags.choice(CodecSetting.LEVELS, raw, false, LevelFamily.values(),
        BudgetSettings::levelsName);
  }
}
