package org.loraquant.spark.stage;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.loraquant.codec.FleetAdapterErrors;
import org.loraquant.codec.FleetAdapterScope;
import org.loraquant.codec.FleetAllocation;
import org.loraquant.codec.FleetAllocator;
import org.loraquant.codec.FleetLayer;
import org.loraquant.codec.FleetPasses;
import org.loraquant.codec.FleetProposals;
import org.loraquant.codec.FleetSums;
import org.loraquant.codec.FleetTotals;
import org.loraquant.codec.FleetWeight;
import scala.Tuple2;

/**
 * {@link FleetPasses} over an RDD of measured layers (docs/ALGORITHM.md, "Fleet budget"; issue
 * 20): each pass is one tree aggregation, folding each partition's layers from the neutral element
 * and combining the partitions' results, so only the small totals, sums and proposals reach the
 * driver. The combines are exact (sums of longs, totally ordered proposals), so the allocation is
 * the same bit for bit as {@link org.loraquant.codec.LocalFleet}'s over the same layers, whatever
 * the partitioning.
 *
 * <p>The caller persists the layers (MEMORY_AND_DISK): the allocator runs 10 to 30 passes over
 * them, and recomputing a layer means reading and decomposing it again.
 */
final class SparkFleet implements FleetPasses {
  /** Depth of the aggregation tree: the default; partitions' results are a few kilobytes. */
  private static final int DEPTH = 2;

  private final JavaRDD<FleetLayer> layers;

  SparkFleet(JavaRDD<FleetLayer> layers) {
    this.layers = layers;
  }

  /**
   * The layers with the weight's factor on their errors, as {@link FleetAllocator#weighted} gives
   * them: for {@link FleetWeight#ADAPTER} each adapter's energy is summed on the executors (one
   * reduce by adapter) and only the per-adapter sums travel, broadcast to the layers. Not
   * persisted: the caller persists what it allocates over.
   */
  static JavaRDD<FleetLayer> weighted(JavaRDD<FleetLayer> layers, FleetWeight weight) {
    if (weight == FleetWeight.ENERGY) {
      // Every error as it is: the fleet-pooled error.
      return layers.map(l -> l.withWeight(1));
    }
    Map<String, Double> energy =
        layers
            .mapToPair(l -> new Tuple2<>(l.adapter(), l.energy()))
            .reduceByKey(Double::sum)
            .collectAsMap();
    Broadcast<Map<String, Double>> energies =
        JavaSparkContext.fromSparkContext(layers.context()).broadcast(Map.copyOf(energy));
    return layers.map(l -> l.withWeight(weight.weightOf(energies.value().get(l.adapter()))));
  }

  @Override
  public FleetTotals totals() {
    return layers.treeAggregate(
        FleetTotals.ZERO, (t, l) -> t.plus(FleetTotals.of(l)), FleetTotals::plus, DEPTH);
  }

  @Override
  public FleetSums sums(Map<String, Double> factors, double[] lambdas) {
    double[] at = lambdas.clone();
    Map<String, Double> by = new TreeMap<>(factors);
    return layers.treeAggregate(
        FleetSums.zero(at.length),
        (s, l) -> s.plus(FleetSums.of(l, by, at)),
        FleetSums::plus,
        DEPTH);
  }

  @Override
  public FleetProposals proposals(FleetAllocation current, long leftBits, int limit) {
    return layers.treeAggregate(
        FleetProposals.empty(limit),
        (p, l) -> p.plus(FleetProposals.of(l, current, leftBits, limit)),
        FleetProposals::plus,
        DEPTH);
  }

  @Override
  public FleetAdapterErrors adapterErrors(FleetAllocation current) {
    return layers.treeAggregate(
        FleetAdapterErrors.empty(),
        (e, l) -> e.plus(FleetAdapterErrors.of(l, current)),
        FleetAdapterErrors::plus,
        DEPTH);
  }

  /** One shuffle: the layers grouped by adapter, each adapter solved where its group lands. */
  @Override
  public Map<String, FleetAdapterScope> adapterScope(double bitsPerParam) {
    return new TreeMap<>(
        layers
            .groupBy(FleetLayer::adapter)
            .mapValues(group -> FleetAdapterScope.of(adapterOf(group), group, bitsPerParam))
            .collectAsMap());
  }

  private static String adapterOf(Iterable<FleetLayer> group) {
    return group.iterator().next().adapter();
  }

  @Override
  public List<FleetLayer> collect() {
    return layers.collect();
  }
}
