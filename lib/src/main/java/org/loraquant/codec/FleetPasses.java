package org.loraquant.codec;

/**
 * The three aggregations the fleet allocator runs over the fleet's layers (docs/ALGORITHM.md,
 * "Fleet budget"). Each is a map over the layers ({@link FleetTotals#of}, {@link FleetSums#of},
 * {@link FleetProposals#of}) and a combine ({@code plus}), so an engine runs them where the
 * layers are (e.g. a tree aggregation over persisted {@link FleetLayer}s) and only the small
 * results reach the allocator. {@link LocalFleet} runs them over lists in memory.
 */
public interface FleetPasses {
  /** The totals over every layer. */
  FleetTotals totals();

  /** Bits and weighted error over every layer at each multiplier. */
  FleetSums sums(double[] lambdas);

  /** The best {@code limit} width changes fitting in {@code leftBits}, from {@code current}. */
  FleetProposals proposals(FleetAllocation current, long leftBits, int limit);

  /**
   * Every layer, in a fixed order (the allocator asks only for a small fleet, at most
   * {@link FleetAllocator#DRIVER_COMPONENTS} components, which it then solves on its own).
   */
  java.util.List<FleetLayer> collect();
}
