package org.loraquant.codec;

/**
 * Validated settings of the budget mode (docs/ALGORITHM.md, "Budget mode").
 *
 * @param budgetBits target effective bits per parameter: every stored bit of the scope over
 *     r (m + n) summed over its layers; in (0, 16]
 * @param scope one budget per layer or one across the adapter
 * @param levels level family of widths 2..8
 * @param refit least-squares refit steps after quantizing, alternately A' and B', 0 for none
 * @param groupSize values per quantization group, at least 1
 * @param weight how the fleet scope weighs adapters' errors; {@link #DEFAULT_WEIGHT} and unused in
 *     the other scopes (not written, not in the fingerprint)
 */
public record BudgetSettings(double budgetBits, BudgetScope scope, LevelFamily levels, int refit,
    int groupSize, FleetWeight weight) implements CompressionSettings {
  private static final long serialVersionUID = 1L;

  public static final BudgetScope DEFAULT_SCOPE = BudgetScope.ADAPTER;
  public static final LevelFamily DEFAULT_LEVELS = LevelFamily.LLOYD_MAX;
  public static final int DEFAULT_REFIT = 2;
  public static final FleetWeight DEFAULT_WEIGHT = FleetWeight.ENERGY;
  /** Above 16 bits per parameter a budget buys nothing over the binary16 source. */
  public static final double MAX_BUDGET_BITS = 16;

  public BudgetSettings {
    if (!(budgetBits > 0 && budgetBits <= MAX_BUDGET_BITS)) {
      throw new IllegalArgumentException("Invalid budget: " + budgetBits
          + " bits per parameter; must be in (0, 16], e.g. 1.4");
    }
    if (scope == null) {
      throw new IllegalArgumentException("Invalid budget scope: null; use LAYER, ADAPTER or FLEET");
    }
    if (weight == null) {
      throw new IllegalArgumentException("Invalid budget weight: null; use ENERGY or ADAPTER");
    }
    if (scope != BudgetScope.FLEET && weight != DEFAULT_WEIGHT) {
      throw new IllegalArgumentException("Invalid budget weight: " + weight.spelling()
          + " applies to scope fleet only, not " + scopeName(scope));
    }
    if (levels == null) {
      throw new IllegalArgumentException("Invalid level family: null; use UNIFORM or LLOYD_MAX");
    }
    if (refit < 0) {
      throw new IllegalArgumentException("Invalid refit: " + refit + "; must be >= 0, e.g. 2");
    }
    CompressionSettings.checkGroupSize(groupSize);
  }

  /**
   * The budget with the defaults: adapter scope, Lloyd-Max levels, 2 refit steps, group 128
   * (weight energy, used by scope fleet only).
   */
  public static BudgetSettings of(double budgetBits) {
    return new BudgetSettings(budgetBits, DEFAULT_SCOPE, DEFAULT_LEVELS, DEFAULT_REFIT,
        CodecSettings.DEFAULT_GROUP_SIZE, DEFAULT_WEIGHT);
  }

  public BudgetSettings withScope(BudgetScope value) {
    return new BudgetSettings(budgetBits, value, levels, refit, groupSize, weight);
  }

  public BudgetSettings withLevels(LevelFamily value) {
    return new BudgetSettings(budgetBits, scope, value, refit, groupSize, weight);
  }

  public BudgetSettings withRefit(int value) {
    return new BudgetSettings(budgetBits, scope, levels, value, groupSize, weight);
  }

  public BudgetSettings withGroupSize(int value) {
    return new BudgetSettings(budgetBits, scope, levels, refit, value, weight);
  }

  public BudgetSettings withWeight(FleetWeight value) {
    return new BudgetSettings(budgetBits, scope, levels, refit, groupSize, value);
  }

  /** The weight as written (config block, layer lines, stats): the fleet scope's only, else null. */
  public String weightName() {
    return scope == BudgetScope.FLEET ? weight.spelling() : null;
  }

  /** The level family as the config block, the stats and the CLI spell it. */
  public static String levelsName(LevelFamily levels) {
    return levels == LevelFamily.LLOYD_MAX ? "lloyd-max" : "uniform";
  }

  /** The scope as the config block, the stats and the CLI spell it. */
  public static String scopeName(BudgetScope scope) {
    return scope.name().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * Canonical string of the settings: equal strings give the same bytes for the same input (and
   * LAPACK backend) and, in scope fleet, the same fleet. Never equal to a paper-mode
   * fingerprint. The weight is in it in scope fleet only, so the other scopes' fingerprints are
   * those written before the fleet scope existed.
   */
  @Override
  public String fingerprint() {
    return "loraquant-budget/" + CodecSettings.ALGORITHM_VERSION
        + ";" + CodecSetting.BUDGET.fingerprintKey() + "="
        + java.math.BigDecimal.valueOf(budgetBits).stripTrailingZeros().toPlainString()
        + ";" + CodecSetting.BUDGET_SCOPE.fingerprintKey() + "=" + scopeName(scope)
        + ";" + CodecSetting.LEVELS.fingerprintKey() + "=" + levelsName(levels)
        + ";" + CodecSetting.REFIT.fingerprintKey() + "=" + refit
        + ";" + CodecSetting.GROUP_SIZE.fingerprintKey() + "=" + groupSize
        + (scope == BudgetScope.FLEET
            ? ";" + CodecSetting.BUDGET_WEIGHT.fingerprintKey() + "=" + weight.spelling()
            : "");
  }

  @Override
  public CodecSetting.Mode mode() {
    return CodecSetting.Mode.BUDGET;
  }

  @Override
  public Object value(CodecSetting setting) {
    return switch (setting) {
      case BUDGET -> budgetBits;
      case BUDGET_SCOPE -> scopeName(scope);
      case LEVELS -> levelsName(levels);
      case REFIT -> refit;
      case GROUP_SIZE -> groupSize;
      case BUDGET_WEIGHT -> weightName();
      default -> null;
    };
  }

  /** The budget of a scope of {@code params} parameters, rounded down: never more than asked. */
  long budgetBitsFor(long params) {
    return (long) Math.floor(budgetBits * params);
  }
}
