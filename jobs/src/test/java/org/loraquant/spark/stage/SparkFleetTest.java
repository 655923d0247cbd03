package org.loraquant.spark.stage;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Test;
import org.loraquant.codec.FleetAllocation;
import org.loraquant.codec.FleetAllocator;
import org.loraquant.codec.FleetLayer;
import org.loraquant.codec.FleetWeight;
import org.loraquant.codec.LevelFamily;
import org.loraquant.codec.LocalFleet;
import org.loraquant.codec.LoraFactors;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.spark.SparkTestBase;

/**
 * The fleet allocator's passes as Spark tree aggregations (issue 20) give the allocation the
 * in-memory passes give, bit for bit (weight {@code adapter} with its cap's rounds too), over a mixed fleet split into partitions: the same
 * multiplier, bits and widths, within the budget and less than 0.5% under it.
 */
class SparkFleetTest extends SparkTestBase {
  private static final int[] RANKS = {4, 8, 16, 32};
  private static final int[] DIMS = {64, 96, 128};

  @Test
  void sparkPassesAllocateAsTheLocalPassesOnALargeFleet() {
    // More than FleetAllocator.DRIVER_COMPONENTS components: the leftover passes run on Spark.
    List<FleetLayer> layers = mixedFleet(7, 12, 5);
    assertThat(layers.stream().mapToInt(FleetLayer::components).sum())
        .isGreaterThan(FleetAllocator.DRIVER_COMPONENTS);
    assertSameAllocation(layers, FleetWeight.ENERGY);
  }

  @Test
  void adapterWeightIsSummedOnTheExecutorsAsInMemory() {
    List<FleetLayer> layers = mixedFleet(11, 12, 5);
    JavaRDD<FleetLayer> rdd = jsc().parallelize(layers, 3);
    assertThat(SparkFleet.weighted(rdd, FleetWeight.ADAPTER).collect())
        .isEqualTo(FleetAllocator.weighted(layers, FleetWeight.ADAPTER));
    assertSameAllocation(layers, FleetWeight.ADAPTER);
  }

  @Test
  void aSmallFleetIsCollectedAndSolvedAsInMemory() {
    List<FleetLayer> layers = mixedFleet(3, 3, 2);
    assertThat(layers.stream().mapToInt(FleetLayer::components).sum())
        .isLessThanOrEqualTo(FleetAllocator.DRIVER_COMPONENTS);
    assertSameAllocation(layers, FleetWeight.ENERGY);
  }

  private static void assertSameAllocation(List<FleetLayer> measured, FleetWeight weight) {
    List<FleetLayer> local = FleetAllocator.weighted(measured, weight);
    JavaRDD<FleetLayer> rdd =
        SparkFleet.weighted(jsc().parallelize(measured, 3), weight)
            .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      long params = local.stream().mapToLong(FleetLayer::params).sum();
      long budget = (long) Math.floor(1.4 * params);
      FleetAllocation onSpark = FleetAllocator.allocate(new SparkFleet(rdd), budget, weight, 1.4);
      FleetAllocation inMemory =
          FleetAllocator.allocate(LocalFleet.of(local), budget, weight, 1.4);
      assertThat(onSpark.lambda()).isEqualTo(inMemory.lambda());
      // Weight adapter: the cap's rounds (each adapter solved alone after a shuffle by adapter,
      // the adapters' errors summed exactly) raise the same factors.
      assertThat(onSpark.factors()).isEqualTo(inMemory.factors());
      if (weight == FleetWeight.ADAPTER) {
        assertThat(inMemory.factors()).isNotEmpty();
      }
      assertThat(onSpark.spentBits()).isEqualTo(inMemory.spentBits());
      assertThat(onSpark.spentBits()).isLessThanOrEqualTo(budget);
      assertThat((double) onSpark.spentBits()).isGreaterThanOrEqualTo(0.995 * budget);
      for (FleetLayer layer : local) {
        assertThat(onSpark.widths(layer))
            .as("%s:%s", layer.adapter(), layer.module())
            .isEqualTo(inMemory.widths(layer));
      }
    } finally {
      rdd.unpersist();
    }
  }

  private static JavaSparkContext jsc() {
    return JavaSparkContext.fromSparkContext(spark().sparkContext());
  }

  /** Adapters of mixed ranks, shapes, spectra and magnitudes (up to 30x), seeded. */
  private static List<FleetLayer> mixedFleet(long seed, int adapters, int layersPerAdapter) {
    Random random = new Random(seed);
    List<FleetLayer> layers = new ArrayList<>();
    for (int a = 0; a < adapters; a++) {
      int rank = RANKS[random.nextInt(RANKS.length)];
      boolean decaying = random.nextBoolean();
      double scale = Math.pow(30, random.nextDouble());
      for (int l = 0; l < layersPerAdapter; l++) {
        int m = DIMS[random.nextInt(DIMS.length)];
        int n = DIMS[random.nextInt(DIMS.length)];
        float[] b = new float[m * rank];
        float[] aa = new float[rank * n];
        for (int i = 0; i < b.length; i++) {
          double spectrum = decaying ? Math.pow(0.7, i % rank) : 1;
          b[i] = (float) (scale * spectrum * random.nextGaussian());
        }
        for (int i = 0; i < aa.length; i++) {
          aa[i] = (float) random.nextGaussian();
        }
        layers.add(
            FleetLayer.measure(
                "adapter-" + a,
                "layer-" + l,
                new LoraFactors(m, n, rank, b, aa),
                LevelFamily.LLOYD_MAX,
                32,
                LinearAlgebra.javaOnly()));
      }
    }
    return layers;
  }
}
