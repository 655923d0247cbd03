package org.loraquant.codec;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One adapter of the fleet solved alone, as scope {@code adapter} solves it (docs/ALGORITHM.md,
 * "Fleet budget", weight {@code adapter}): {@link BitAllocator} over its complete tables within
 * floor(B x its parameters) bits, the adapter scope's own count. Its table error is the adapter's
 * "own adapter-scope error", which weight {@code adapter} keeps every adapter near.
 *
 * <p>An engine groups the layers by adapter and calls {@link #of} once per adapter, wherever the
 * adapter's layers are; the result is four numbers.
 *
 * @param error the sum of the components' errors D_i(w_i) of the adapter scope's allocation
 *     (unweighted); infinite when the adapter scope refuses the adapter at this budget (its
 *     smallest storable form needs more), so that no cap applies to it
 * @param energy ||BA||^2 summed over the adapter's layers
 * @param bits the adapter scope's count of the bits spent (header allowance included)
 */
public record FleetAdapterScope(String adapter, double error, double energy, long bits)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * The adapter scope's allocation of one adapter's layers (in any order: they are sorted by
   * module first, so the result does not depend on how an engine grouped them).
   *
   * @param bitsPerParam B, the budget in bits per parameter
   */
  public static FleetAdapterScope of(String adapter, Iterable<FleetLayer> layers,
      double bitsPerParam) {
    List<FleetLayer> sorted = new ArrayList<>();
    layers.forEach(sorted::add);
    sorted.sort(Comparator.comparing(FleetLayer::module));
    List<RateDistortionTable> tables = new ArrayList<>(sorted.size());
    long params = 0;
    long minimum = 0;
    double energy = 0;
    for (FleetLayer l : sorted) {
      if (!l.adapter().equals(adapter)) {
        throw new IllegalArgumentException(l + " is not a layer of " + adapter);
      }
      RateDistortionTable t = l.table();
      tables.add(t);
      params += l.params();
      minimum += t.minimumBits();
      energy += l.energy();
    }
    long budget = (long) Math.floor(bitsPerParam * params);
    if (minimum > budget) {
      return new FleetAdapterScope(adapter, Double.POSITIVE_INFINITY, energy, 0);
    }
    int[][] widths = BitAllocator.allocate(tables, budget);
    return new FleetAdapterScope(adapter, BitAllocator.distortion(tables, widths), energy,
        BitAllocator.spent(tables, widths));
  }
}
