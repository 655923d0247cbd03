package org.loraquant.codec;

import java.io.Serializable;

/**
 * What the fleet allocator needs to know before it searches (docs/ALGORITHM.md, "Fleet budget"):
 * layers, components, parameters, the bits of the smallest storable form and the largest weighted error.
 * Built per layer by {@link #of} and merged by {@link #plus}, which is associative and commutative
 * exactly (sums of longs, a maximum), so any split of the layers gives the same totals.
 */
public record FleetTotals(long layers, long components, long params, long minimumBits,
    double largestError) implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final FleetTotals ZERO = new FleetTotals(0, 0, 0, 0, 0);

  public static FleetTotals of(FleetLayer layer) {
    return new FleetTotals(1, layer.components(), layer.params(), layer.minimumBits(), layer.largestWeightedError());
  }

  public FleetTotals plus(FleetTotals other) {
    return new FleetTotals(layers + other.layers, components + other.components, params + other.params,
        minimumBits + other.minimumBits, Math.max(largestError, other.largestError));
  }
}
