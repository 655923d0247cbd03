package org.loraquant.codec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The adapter scope (one {@link BitAllocator} budget per adapter, as {@link BudgetCodec} spends
 * it) next to the fleet scope on the same tables, adapter by adapter.
 */
final class FleetScopeComparison {
  /**
   * Per adapter: the summed table error D and energy ||BA||^2; and the bits the layers' records
   * store ({@link FleetLayer#storedBits}), so that both scopes are compared at the same stored bits.
   */
  record Outcome(Map<String, double[]> byAdapter, long bits) {
    double pooledError() {
      double d = 0;
      for (double[] v : byAdapter.values()) {
        d += v[0];
      }
      return d;
    }

    double sumOfRelativeErrors() {
      double sum = 0;
      for (String adapter : byAdapter.keySet()) {
        sum += relativeError(adapter);
      }
      return sum;
    }

    /** The adapter's squared error over its ||BA||^2. */
    double relativeError(String adapter) {
      double[] v = byAdapter.get(adapter);
      return v[1] > 0 ? v[0] / v[1] : 0;
    }
  }

  private FleetScopeComparison() {}

  static Map<String, List<FleetLayer>> byAdapter(List<FleetLayer> layers) {
    Map<String, List<FleetLayer>> out = new LinkedHashMap<>();
    for (FleetLayer l : layers) {
      out.computeIfAbsent(l.adapter(), k -> new ArrayList<>()).add(l);
    }
    return out;
  }

  /** Scope {@code adapter}: each adapter within floor(B x its parameters), in its own count. */
  static Outcome adapterScope(List<FleetLayer> layers, double budget) {
    Map<String, double[]> out = new LinkedHashMap<>();
    long bits = 0;
    for (Map.Entry<String, List<FleetLayer>> e : byAdapter(layers).entrySet()) {
      List<RateDistortionTable> tables = new ArrayList<>();
      long params = 0;
      double energy = 0;
      for (FleetLayer l : e.getValue()) {
        tables.add(l.table());
        params += l.params();
        energy += l.energy();
      }
      int[][] widths = BitAllocator.allocate(tables, (long) Math.floor(budget * params));
      for (int l = 0; l < widths.length; l++) {
        bits += e.getValue().get(l).storedBits(widths[l]);
      }
      out.put(e.getKey(), new double[] {BitAllocator.distortion(tables, widths), energy});
    }
    return new Outcome(out, bits);
  }

  /** The fleet allocation's (unweighted) errors per adapter; {@code layers} as allocated (weighted). */
  static Outcome fleetScope(List<FleetLayer> layers, FleetAllocation allocation) {
    Map<String, double[]> out = new LinkedHashMap<>();
    long bits = 0;
    for (FleetLayer l : layers) {
      int[] widths = allocation.widths(l);
      bits += l.storedBits(widths);
      double[] v = out.computeIfAbsent(l.adapter(), k -> new double[2]);
      v[0] += l.error(widths);
      v[1] += l.energy();
    }
    return new Outcome(out, bits);
  }
}
