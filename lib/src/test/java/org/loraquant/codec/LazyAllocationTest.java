package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.loraquant.linalg.LinearAlgebra;

class LazyAllocationTest {
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();

  /**
   * Over random layers and budgets, the allocation over tables measured on demand has exactly the
   * total error and the bits of the allocation over the complete tables, and every entry it
   * measured is the complete table's.
   */
  @ParameterizedTest
  @EnumSource(LevelFamily.class)
  void onDemandTablesGiveTheAllocationOfTheCompleteTables(LevelFamily family) {
    Random random = new Random(18);
    int fewerEntries = 0;
    for (int trial = 0; trial < 40; trial++) {
      int layers = 1 + random.nextInt(3);
      List<BalancedLayer> balanced = new ArrayList<>();
      List<RateDistortionTable> complete = new ArrayList<>();
      List<LazyRateDistortion> lazy = new ArrayList<>();
      long params = 0;
      for (int l = 0; l < layers; l++) {
        int m = 16 + random.nextInt(120);
        int n = 16 + random.nextInt(120);
        int r = 1 + random.nextInt(12);
        LoraFactors f = random.nextBoolean() ? TestFactors.decaying(random.nextLong(), m, n, r)
            : TestFactors.gaussian(random.nextLong(), m, n, r);
        BalancedLayer layer = BalancedLayer.of(f, LINALG);
        balanced.add(layer);
        complete.add(RateDistortionTable.measure(layer, family, 16));
        lazy.add(new LazyRateDistortion(layer, family, 16, LazyAllocation.INITIAL_WIDTH));
        params += (long) r * (m + n);
      }
      double bits = 0.6 + 4 * random.nextDouble();
      long budget = (long) Math.floor(bits * params);
      long minimum = 0;
      for (RateDistortionTable t : complete) {
        minimum += t.minimumBits();
      }
      if (minimum > budget) {
        continue;
      }
      int[][] expected = BitAllocator.allocate(complete, budget);
      int[][] actual = LazyAllocation.allocate(lazy, budget, balanced::get);
      List<RateDistortionTable> measured = new ArrayList<>();
      int entries = 0;
      int completeEntries = 0;
      for (int l = 0; l < layers; l++) {
        LazyRateDistortion t = lazy.get(l);
        measured.add(t.relaxed());
        for (int i = 0; i < t.components(); i++) {
          assertThat(actual[l][i]).isLessThanOrEqualTo(t.known(i));
          for (int w = 0; w <= t.known(i); w++) {
            assertThat(t.relaxed().distortion(i, w)).isEqualTo(complete.get(l).distortion(i, w));
          }
          entries += t.known(i) + 1;
          completeEntries += complete.get(l).maxWidth(i) + 1;
        }
      }
      assertThat(BitAllocator.distortion(complete, actual)).as("trial %d", trial)
          .isEqualTo(BitAllocator.distortion(complete, expected));
      assertThat(BitAllocator.spent(complete, actual)).isLessThanOrEqualTo(budget);
      fewerEntries += entries < completeEntries ? 1 : 0;
    }
    assertThat(fewerEntries).as("trials that measured fewer entries").isGreaterThan(10);
  }

  /**
   * The relaxed table ends at each component's first unmeasured width, and allocates exactly as
   * the table with 0 at every unmeasured width up to the component's maximum would: the same
   * widths from the exact search and from the passes (frontier limit 0).
   */
  @ParameterizedTest
  @EnumSource(LevelFamily.class)
  void relaxedTableEndsOneWidthPastTheMeasuredAndAllocatesAsIfItRanToTheMaximum(
      LevelFamily family) {
    Random random = new Random(1818);
    int shorter = 0;
    for (int trial = 0; trial < 30; trial++) {
      int layers = 1 + random.nextInt(3);
      List<RateDistortionTable> relaxed = new ArrayList<>();
      List<RateDistortionTable> zerosToTheMaximum = new ArrayList<>();
      long params = 0;
      for (int l = 0; l < layers; l++) {
        int m = 16 + random.nextInt(120);
        int n = 16 + random.nextInt(120);
        int r = 1 + random.nextInt(12);
        BalancedLayer layer = BalancedLayer.of(TestFactors.decaying(random.nextLong(), m, n, r),
            LINALG);
        LazyRateDistortion t = new LazyRateDistortion(layer, family, 16, random.nextInt(4));
        for (int i = 0; i < t.components(); i++) {
          t.extend(layer, i, random.nextInt(5));
        }
        RateDistortionTable table = t.relaxed();
        double[][] d = new double[t.components()][];
        for (int i = 0; i < t.components(); i++) {
          assertThat(table.maxWidth(i)).isEqualTo(Math.min(t.known(i) + 1, t.maxWidth(i)));
          shorter += table.maxWidth(i) < t.maxWidth(i) ? 1 : 0;
          d[i] = new double[t.maxWidth(i) + 1];
          for (int w = 0; w <= t.known(i); w++) {
            d[i][w] = table.distortion(i, w);
          }
        }
        relaxed.add(table);
        zerosToTheMaximum.add(new RateDistortionTable(table.params(), table.energy(), d,
            RateDistortionTable.costs(family, m, n, 16)));
        params += (long) r * (m + n);
      }
      long budget = (long) Math.floor((0.6 + 4 * random.nextDouble()) * params);
      long minimum = 0;
      for (RateDistortionTable t : relaxed) {
        minimum += t.minimumBits();
      }
      if (minimum > budget) {
        continue;
      }
      for (int limit : new int[] {BitAllocator.EXACT_FRONTIER_LIMIT, 0}) {
        assertThat(BitAllocator.allocate(relaxed, budget, limit)).as("trial %d, limit %d", trial,
            limit).isDeepEqualTo(BitAllocator.allocate(zerosToTheMaximum, budget, limit));
      }
    }
    assertThat(shorter).as("components whose relaxed table ends early").isGreaterThan(50);
  }

  /**
   * A component the allocation drops is quantized only if some allocation on the way gave it
   * bits: with a steep spectrum most of the dropped tail is never quantized, and the allocation is
   * still that of the complete table.
   */
  @ParameterizedTest
  @EnumSource(LevelFamily.class)
  void droppedComponentsAreMostlyNeverQuantized(LevelFamily family) {
    BalancedLayer layer = BalancedLayer.of(TestFactors.decaying(7, 600, 500, 16), LINALG);
    LazyRateDistortion lazy = new LazyRateDistortion(layer, family, 16,
        LazyAllocation.INITIAL_WIDTH);
    RateDistortionTable complete = RateDistortionTable.measure(layer, family, 16);
    long budget = (long) Math.floor(1.0 * 16 * (600 + 500));
    int[][] widths = LazyAllocation.allocate(List.of(lazy), budget, l -> layer);
    int dropped = 0;
    int neverQuantized = 0;
    for (int i = 0; i < lazy.components(); i++) {
      dropped += widths[0][i] == 0 ? 1 : 0;
      neverQuantized += lazy.known(i) == 0 ? 1 : 0;
    }
    assertThat(dropped).isGreaterThan(4);
    assertThat(neverQuantized).isGreaterThan(dropped / 2);
    assertThat(BitAllocator.distortion(List.of(complete), widths))
        .isEqualTo(BitAllocator.distortion(List.of(complete),
            BitAllocator.allocate(List.of(complete), budget)));
  }
}
