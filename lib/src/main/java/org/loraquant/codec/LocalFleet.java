package org.loraquant.codec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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
  public FleetSums sums(Map<String, Double> factors, double[] lambdas) {
    FleetSums total = FleetSums.zero(lambdas.length);
    for (List<FleetLayer> part : parts) {
      FleetSums partial = FleetSums.zero(lambdas.length);
      for (FleetLayer layer : part) {
        partial = partial.plus(FleetSums.of(layer, factors, lambdas));
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
  public FleetAdapterErrors adapterErrors(FleetAllocation current) {
    FleetAdapterErrors total = FleetAdapterErrors.empty();
    for (List<FleetLayer> part : parts) {
      FleetAdapterErrors partial = FleetAdapterErrors.empty();
      for (FleetLayer layer : part) {
        partial = partial.plus(FleetAdapterErrors.of(layer, current));
      }
      total = total.plus(partial);
    }
    return total;
  }

  @Override
  public Map<String, FleetAdapterScope> adapterScope(double bitsPerParam) {
    Map<String, List<FleetLayer>> byAdapter = new TreeMap<>();
    for (FleetLayer layer : collect()) {
      byAdapter.computeIfAbsent(layer.adapter(), a -> new ArrayList<>()).add(layer);
    }
    Map<String, FleetAdapterScope> out = new TreeMap<>();
    byAdapter.forEach((a, layers) -> out.put(a, FleetAdapterScope.of(a, layers, bitsPerParam)));
    return out;
  }

  @Override
  public List<FleetLayer> collect() {
    List<FleetLayer> all = new ArrayList<>();
    parts.forEach(all::addAll);
    return all;
  }
}
