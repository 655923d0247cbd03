package org.loraquant.codec;

import java.util.List;
import java.util.Map;

/**
 * The aggregations the fleet allocator runs over the fleet's layers (docs/ALGORITHM.md, "Fleet
 * budget"). Each of the first four is a map over the layers ({@link FleetTotals#of},
 * {@link FleetSums#of}, {@link FleetProposals#of}, {@link FleetAdapterErrors#of}) and a combine
 * ({@code plus}), so an engine runs them where the layers are (e.g. a tree aggregation over
 * persisted {@link FleetLayer}s) and only the small results reach the allocator;
 * {@link #adapterScope} groups the layers by adapter instead. {@link LocalFleet} runs them over
 * lists in memory.
 */
public interface FleetPasses {
  /** The totals over every layer. */
  FleetTotals totals();

  /**
   * Bits and weighted error over every layer at each multiplier, each layer's weight multiplied by
   * its adapter's factor in {@code factors} (1 if absent).
   */
  FleetSums sums(Map<String, Double> factors, double[] lambdas);

  /** The best {@code limit} width changes fitting in {@code leftBits}, from {@code current}. */
  FleetProposals proposals(FleetAllocation current, long leftBits, int limit);

  /** Each adapter's (unweighted) table error with its widths in {@code current}. */
  FleetAdapterErrors adapterErrors(FleetAllocation current);

  /**
   * Each adapter solved alone by the adapter scope at {@code bitsPerParam}: the layers grouped by
   * adapter, {@link FleetAdapterScope#of} on each group; the result by adapter (one small record
   * each). Asked once, by weight {@code adapter} only.
   */
  Map<String, FleetAdapterScope> adapterScope(double bitsPerParam);

  /**
   * Every layer, in a fixed order (the allocator asks only for a small fleet, at most
   * {@link FleetAllocator#DRIVER_COMPONENTS} components, which it then solves on its own).
   */
  List<FleetLayer> collect();
}
