package org.loraquant.codec;

/**
 * How the fleet scope weighs the errors of different adapters (docs/ALGORITHM.md, "Fleet
 * budget").
 */
public enum FleetWeight {
  /**
   * Every layer's squared error as it is: the fleet-pooled error, sum over all layers of
   * ||BA - B^A^||_F^2. An adapter with large updates weighs more.
   */
  ENERGY,
  /**
   * Each layer's squared error divided by its adapter's ||BA||^2 (the sum over the adapter's
   * layers): every adapter counts by its relative error, so one heavy adapter cannot take the
   * whole budget.
   */
  ADAPTER;

  /** The factor on the errors of the layers of an adapter whose layers' energies sum to this. */
  public double weightOf(double adapterEnergy) {
    if (this == ENERGY || !(adapterEnergy > 0)) {
      // An adapter without energy has no error to weigh; 1 keeps its (zero) errors finite.
      return 1;
    }
    return 1 / adapterEnergy;
  }

  /** The weight as the settings file, the stats and the CLI spell it. */
  public String spelling() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
