package org.loraquant.codec;

/** Over what the budget mode's bit budget is spent (docs/ALGORITHM.md, "Budget mode"). */
public enum BudgetScope {
  /** Each layer gets the budget on its own parameters. */
  LAYER,
  /**
   * One budget over all layers of the adapter: a layer whose bits cut more of the adapter's
   * squared error gets more of them.
   */
  ADAPTER,
  /**
   * One budget over every adapter a run compresses (issue 20, docs/ALGORITHM.md "Fleet budget"):
   * an adapter's output then depends on the rest of the fleet, not only on its own input and
   * settings. Its errors are weighed by a {@link FleetWeight}.
   */
  FLEET
}
