package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.loraquant.linalg.LinearAlgebra;

class BudgetCodecTest {
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();

  /** Three layers, and in scope adapter a 1 x 1 rank 1 one (its side information alone is far
   * above any per-layer budget, so scope layer would refuse it). */
  private static List<LoraFactors> adapter(BudgetScope scope) {
    List<LoraFactors> layers = new java.util.ArrayList<>(List.of(
        TestFactors.decaying(1, 300, 200, 8), TestFactors.gaussian(2, 129, 257, 5),
        TestFactors.decaying(3, 64, 700, 16)));
    if (scope == BudgetScope.ADAPTER) {
      layers.add(TestFactors.decaying(4, 1, 1, 1));
    }
    return layers;
  }

  @ParameterizedTest
  @CsvSource({"LLOYD_MAX, ADAPTER, 2, 1.4", "LLOYD_MAX, LAYER, 2, 2.5", "UNIFORM, ADAPTER, 0, 1.8",
      "UNIFORM, LAYER, 3, 3.0", "LLOYD_MAX, ADAPTER, 1, 6.0"})
  void statsErrorIsTheErrorOfTheDecodedFactorsAndTheBudgetHolds(LevelFamily levels,
      BudgetScope scope, int refit, double budget) {
    List<LoraFactors> layers = adapter(scope);
    BudgetSettings settings = BudgetSettings.of(budget).withLevels(levels).withScope(scope)
        .withRefit(refit);
    List<BudgetLayerResult> results = BudgetCodec.compress(layers, settings, LINALG);
    long stored = 0;
    long params = 0;
    for (int l = 0; l < layers.size(); l++) {
      LoraFactors f = layers.get(l);
      BudgetLayerResult r = results.get(l);
      DecodedLayer decoded = r.decode();
      double dense = TestFactors.denseRelativeError(f, decoded);
      assertThat(r.stats().relError()).as("layer %d", l).isCloseTo(dense, within(1e-7 + 1e-7 * dense));
      assertThat(FactorGramError.relative(f, decoded)).isCloseTo(dense, within(1e-7 + 1e-7 * dense));
      assertThat(r.stats().widths()[0]).isGreaterThanOrEqualTo(RateDistortionTable.GUARD_WIDTH);
      stored += r.stats().storedBits();
      params += r.stats().params();
      if (scope == BudgetScope.LAYER) {
        assertThat(r.stats().effectiveBitsPerParam()).isLessThanOrEqualTo(budget);
      }
    }
    if (scope == BudgetScope.ADAPTER) {
      assertThat((double) stored / params).isLessThanOrEqualTo(budget);
      assertThat(stored).isLessThanOrEqualTo((long) Math.floor(budget * params));
    }
  }

  @Test
  void refitStepsOnlyEverLowerTheError() {
    List<LoraFactors> layers = List.of(TestFactors.decaying(5, 400, 300, 16),
        TestFactors.gaussian(6, 256, 256, 8));
    BudgetSettings plain = BudgetSettings.of(1.5).withRefit(0);
    List<BudgetLayerResult> before = BudgetCodec.compress(layers, plain, LINALG);
    List<BudgetLayerResult> after = BudgetCodec.compress(layers, plain.withRefit(4), LINALG);
    int keptSteps = 0;
    for (int l = 0; l < layers.size(); l++) {
      // Same allocation: the tables do not depend on the refit.
      assertThat(after.get(l).stats().widths()).containsExactly(before.get(l).stats().widths());
      assertThat(after.get(l).stats().squaredError())
          .isLessThanOrEqualTo(before.get(l).stats().squaredError());
      keptSteps += after.get(l).stats().refitSteps();
      if (after.get(l).stats().refitSteps() > 0) {
        assertThat(after.get(l).stats().squaredError())
            .isLessThan(before.get(l).stats().squaredError());
      }
    }
    assertThat(keptSteps).isPositive();
  }

  /**
   * {@code refit N} is N steps in total, A first and then alternately B and A, whether a step is
   * kept or not: N = 1 never touches B, no run keeps more than N steps, and N + 1 starts with
   * the same N steps, so its error is never above N's.
   */
  @Test
  void refitNIsNAlternatingStepsInTotalStartingWithA() {
    List<LoraFactors> layers = List.of(TestFactors.decaying(5, 400, 300, 16),
        TestFactors.gaussian(6, 256, 256, 8), TestFactors.decaying(11, 90, 500, 6));
    BudgetSettings plain = BudgetSettings.of(1.5).withScope(BudgetScope.LAYER).withRefit(0);
    List<BudgetLayerResult> none = BudgetCodec.compress(layers, plain, LINALG);
    List<BudgetLayerResult> previous = none;
    int keptAtOne = 0;
    for (int steps = 1; steps <= 5; steps++) {
      List<BudgetLayerResult> results = BudgetCodec.compress(layers, plain.withRefit(steps), LINALG);
      for (int l = 0; l < layers.size(); l++) {
        BudgetLayerStats stats = results.get(l).stats();
        assertThat(stats.refitSteps()).as("layer %d, refit %d", l, steps).isBetween(0, steps);
        assertThat(stats.squaredError()).as("layer %d, refit %d", l, steps)
            .isLessThanOrEqualTo(previous.get(l).stats().squaredError());
        if (steps == 1) {
          keptAtOne += stats.refitSteps();
          BudgetLayer refitted = results.get(l).layer();
          BudgetLayer plainLayer = none.get(l).layer();
          for (int i = 0; i < refitted.k(); i++) {
            if (refitted.widths()[i] > 0) {
              assertThat(refitted.b()[i].codes()).as("B of layer %d untouched by one step", l)
                  .isEqualTo(plainLayer.b()[i].codes());
              assertThat(refitted.b()[i].scales()).isEqualTo(plainLayer.b()[i].scales());
            }
          }
        }
      }
      previous = results;
    }
    assertThat(keptAtOne).as("the A step is kept somewhere").isPositive();
  }

  @Test
  void adapterScopeSpendsWhereTheSquaredErrorIs() {
    LoraFactors quiet = TestFactors.decaying(7, 256, 256, 8);
    LoraFactors loud = TestFactors.decaying(8, 256, 256, 8);
    for (int i = 0; i < loud.b().length; i++) {
      loud.b()[i] *= 30;
    }
    List<BudgetLayerResult> results =
        BudgetCodec.compress(List.of(quiet, loud), BudgetSettings.of(1.5), LINALG);
    int quietBits = java.util.Arrays.stream(results.get(0).stats().widths()).sum();
    int loudBits = java.util.Arrays.stream(results.get(1).stats().widths()).sum();
    assertThat(loudBits).isGreaterThan(quietBits);
  }

  @Test
  void everyLayerKeepsItsFirstComponentEvenAnAllZeroOne() {
    LoraFactors zero = new LoraFactors(100, 80, 4, new float[400], TestFactors.gaussian(9, 100, 80, 4).a());
    List<LoraFactors> layers = List.of(TestFactors.decaying(10, 500, 400, 8), zero);
    List<BudgetLayerResult> results =
        BudgetCodec.compress(layers, BudgetSettings.of(0.5), LINALG);
    for (BudgetLayerResult r : results) {
      assertThat(r.stats().widths()[0]).isGreaterThanOrEqualTo(2);
    }
    assertThat(results.get(1).stats().zeroUpdate()).isTrue();
    assertThat(results.get(1).stats().relError()).isZero();
    float[] decoded = results.get(1).decode().b();
    for (float v : decoded) {
      assertThat(v).isZero();
    }
  }

  @Test
  void aBudgetTooSmallForTheSideInformationIsRefused() {
    List<LoraFactors> layers =
        List.of(TestFactors.decaying(1, 300, 200, 8), TestFactors.decaying(1, 20, 20, 2));
    assertThatThrownBy(() -> BudgetCodec.compress(layers,
        BudgetSettings.of(2).withScope(BudgetScope.LAYER), LINALG))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("layer 1 (20 x 20, rank 2): budget of 160 bits is below")
        .hasMessageContaining("smallest storable form");
    assertThatThrownBy(() -> BudgetCodec.compress(layers, BudgetSettings.of(0.05), LINALG))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("adapter of 2 layers: budget of 204 bits is below the 2376 bits");
    double smallest = BudgetCodec.smallestBudget(layers, LevelFamily.LLOYD_MAX, 128);
    assertThat(smallest).isEqualTo(2376.0 / 4080);
    assertThat(BudgetCodec.compress(layers, BudgetSettings.of(smallest), LINALG)).hasSize(2);
  }

  @Test
  void badSettingsAreRefusedWithTheReason() {
    assertThatThrownBy(() -> BudgetSettings.of(0)).hasMessageContaining("Invalid budget: 0.0");
    assertThatThrownBy(() -> BudgetSettings.of(-1)).hasMessageContaining("(0, 16]");
    assertThatThrownBy(() -> BudgetSettings.of(16.5)).hasMessageContaining("(0, 16]");
    assertThatThrownBy(() -> BudgetSettings.of(Double.NaN)).hasMessageContaining("Invalid budget");
    assertThatThrownBy(() -> BudgetSettings.of(2).withRefit(-1)).hasMessageContaining("Invalid refit: -1");
    assertThatThrownBy(() -> BudgetSettings.of(2).withLevels(null)).hasMessageContaining("level family");
    assertThatThrownBy(() -> BudgetSettings.of(2).withScope(null)).hasMessageContaining("scope");
    assertThatThrownBy(() -> BudgetSettings.of(2).withGroupSize(0)).hasMessageContaining("group size");
    assertThat(BudgetSettings.of(16).budgetBits()).isEqualTo(16);
  }

  @Test
  void measureThenEncodeAtTheAllocatorsWidthsGivesWhatCompressGives() {
    Random random = new Random(5);
    List<LoraFactors> layers = new ArrayList<>();
    for (int[] shape : new int[][] {{40, 24, 4}, {24, 40, 6}, {32, 32, 4}}) {
      float[] b = new float[shape[0] * shape[2]];
      float[] a = new float[shape[2] * shape[1]];
      for (int i = 0; i < b.length; i++) {
        b[i] = (float) random.nextGaussian();
      }
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) random.nextGaussian() * 0.1f;
      }
      layers.add(new LoraFactors(shape[0], shape[1], shape[2], b, a));
    }
    BudgetSettings settings = BudgetSettings.of(6).withGroupSize(16);
    LinearAlgebra linalg = LinearAlgebra.javaOnly();
    List<RateDistortionTable> tables = new ArrayList<>();
    long params = 0;
    for (LoraFactors f : layers) {
      tables.add(BudgetCodec.measure(f, settings, linalg));
      params += (long) f.r() * (f.m() + f.n());
    }
    // Encoding at given widths stores exactly what the table counted for them.
    int[][] widths = BitAllocator.allocate(tables, (long) Math.floor(5 * params));
    for (int l = 0; l < layers.size(); l++) {
      BudgetLayerResult r =
          BudgetCodec.encode(layers.get(l), tables.get(l), widths[l], settings, linalg);
      assertThat(r.stats().widths()).containsExactly(widths[l]);
      assertThat(r.stats().storedBits()).isEqualTo(tables.get(l).storedBits(widths[l]));
    }
    // With the allocator's own widths, encode gives what compress gives (scope adapter).
    int[][] adapterWidths = BitAllocator.allocate(tables, settings.budgetBitsFor(params));
    List<BudgetLayerResult> compressed = BudgetCodec.compress(layers, settings, linalg);
    for (int l = 0; l < layers.size(); l++) {
      BudgetLayerResult r =
          BudgetCodec.encode(layers.get(l), tables.get(l), adapterWidths[l], settings, linalg);
      assertThat(r.layer()).usingRecursiveComparison().isEqualTo(compressed.get(l).layer());
    }
  }

}
