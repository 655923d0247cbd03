package org.loraquant.spark;

import java.util.Locale;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.FleetShare;

/**
 * The fleet allocation of a run (budget scope fleet), for the adapters table's lambda and the
 * run summary's line: the settings, the share of the budget, the multiplier and what it spent.
 *
 * @param spentBits the bits the allocation gave the adapters compressed now: what their layer
 *     records store (FleetLayer.storedBits)
 */
public record FleetRun(BudgetSettings budget, FleetShare share, double lambda, long spentBits) {

  /** The run summary's line. */
  String summaryLine() {
    return String.format(
        Locale.ROOT,
        "fleet budget %s bits per param (scope %s, weight %s): lambda %.6g, %d bits allocated"
            + " of %d shared (%d budget - %d stored by %d skipped adapters)",
        java.math.BigDecimal.valueOf(budget.budgetBits()).stripTrailingZeros().toPlainString(),
        BudgetSettings.scopeName(budget.scope()),
        budget.weightName(),
        lambda,
        spentBits,
        share.sharedBits(),
        share.budgetBits(),
        share.storedBits(),
        share.skipped().size());
  }
}
