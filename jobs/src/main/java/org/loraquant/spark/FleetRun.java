package org.loraquant.spark;

import java.util.Locale;
import java.util.Map;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.FleetShare;

/**
 * The fleet allocation of a run (budget scope fleet), for the adapters table's lambda and the
 * run summary's line: the settings, the share of the budget, the multiplier and what it spent.
 *
 * @param share the share the allocation was made over: without the adapters left out because a
 *     layer failed (FleetShare.leftOut)
 * @param spentBits the bits the allocation gave the adapters compressed now: what their layer
 *     records store (FleetLayer.storedBits)
 * @param capRounds weight adapter: the cap's rounds (FleetAllocation.capRounds)
 * @param overCap weight adapter: the adapters above their cap when the rounds stopped at their
 *     limit, with their error over their cap (FleetAllocation.overCap); empty when the cap was met
 */
public record FleetRun(BudgetSettings budget, FleetShare share, double lambda, long spentBits,
    int capRounds, Map<String, Double> overCap) {

  public FleetRun {
    overCap = Map.copyOf(overCap);
  }

  /**
   * The run summary's line; it says so when failed adapters were left out, and when weight
   * adapter's cap was not met.
   */
  String summaryLine() {
    return String.format(
        Locale.ROOT,
        "fleet budget %s bits per param (scope %s, weight %s): lambda %.6g, %d bits allocated"
            + " of %d shared (%d budget - %d stored by %d skipped adapters)%s%s",
        java.math.BigDecimal.valueOf(budget.budgetBits()).stripTrailingZeros().toPlainString(),
        BudgetSettings.scopeName(budget.scope()),
        budget.weightName(),
        lambda,
        spentBits,
        share.sharedBits(),
        share.budgetBits(),
        share.storedBits(),
        share.skipped().size(),
        share.leftOut().isEmpty() ? "" : String.format(Locale.ROOT,
            "; %d failed adapters left out of the allocation", share.leftOut().size()),
        capNote());
  }

  /** Empty unless weight adapter's rounds stopped at their limit with adapters above their cap. */
  String capNote() {
    if (overCap.isEmpty()) {
      return "";
    }
    Map.Entry<String, Double> worst = null;
    for (Map.Entry<String, Double> e : new java.util.TreeMap<>(overCap).entrySet()) {
      if (worst == null || e.getValue() > worst.getValue()) {
        worst = e;
      }
    }
    return String.format(Locale.ROOT,
        "; weight adapter's cap NOT met: the rounds stopped at their limit of %d with %d adapters"
            + " above their cap (%sx their own adapter-scope error; worst %s at %.3fx its cap)",
        capRounds, overCap.size(),
        java.math.BigDecimal.valueOf(org.loraquant.codec.FleetAllocator.ADAPTER_CAP)
            .stripTrailingZeros().toPlainString(),
        worst.getKey(), worst.getValue());
  }
}
