package org.loraquant.codec;

import java.util.List;

/**
 * {@link FleetPasses} over layers in memory, split into parts as an engine splits them into
 * partitions: each part is folded layer by layer from the neutral element, then the parts are
 * combined in order. Any split gives the same allocation ({@link FleetSums}).
 */
public final class LocalFleet implements FleetPasses {
  private final List<List<FleetLayer>> parts;

  public LocalFleet(List<List<FleetLayer>> parts) {
    this.parts = parts;
  }

  /** All layers in one part. */
  public static LocalFleet of(List<FleetLayer> layers) {
    return new LocalFleet(List.of(layers));
  }

  @Override
  public FleetTotals totals() {
    FleetTotals total = FleetTotals.ZERO;
    for (List<FleetLayer> part : parts) {
      FleetTotals partial = FleetTotals.ZERO;
      for (FleetLayer layer : part) {
        partial = partial.plus(FleetTotals.of(layer));
      }
      total = total.plus(partial);
    }
    return total;
  }

  @Override
  public FleetSums sums(double[] lambdas) {
    FleetSums total = FleetSums.zero(lambdas.length);
    for (List<FleetLayer> part : parts) {
      FleetSums partial = FleetSums.zero(lambdas.length);
      for (FleetLayer layer : part) {
        partial = partial.plus(FleetSums.of(layer, lambdas));
      }
      total = total.plus(partial);
    }
    return total;
  }

  @Override
  public FleetProposals proposals(FleetAllocation current, long leftBits, int limit) {
    FleetProposals total = FleetProposals.empty(limit);
    for (List<FleetLayer> part : parts) {
      FleetProposals partial = FleetProposals.empty(limit);
      for (FleetLayer layer : part) {
        partial = partial.plus(FleetProposals.of(layer, current, leftBits, limit));
      }
      total = total.plus(partial);
    }
    return total;
  }

  @Override
  public List<FleetLayer> collect() {
    List<FleetLayer> all = new java.util.ArrayList<>();
    parts.forEach(all::addAll);
    return all;
  }
}
