package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The engine-free pieces of the fleet budget (issue 20). */
class FleetBudgetTest {

  /** Tables with monotone errors and a guard-ready first component, as measured ones have. */
  private static List<RateDistortionTable> tables(long seed, int layers) {
    Random random = new Random(seed);
    List<RateDistortionTable> tables = new ArrayList<>();
    for (int l = 0; l < layers; l++) {
      int k = 2 + random.nextInt(2);
      double[][] d = new double[k][];
      for (int i = 0; i < k; i++) {
        d[i] = new double[(i == 0 ? 3 : 1) + random.nextInt(5)];
        double s = random.nextDouble() + 0.1;
        for (int w = 0; w < d[i].length; w++) {
          d[i][w] = s * Math.pow(0.25 + 0.2 * random.nextDouble(), w);
        }
      }
      long[] cost = new long[9];
      int perBit = 10 + random.nextInt(50);
      cost[0] = 8;
      for (int w = 1; w <= 8; w++) {
        cost[w] = 8 + random.nextInt(3) + (long) w * perBit + 20;
      }
      // Costs must rise with the width.
      for (int w = 1; w <= 8; w++) {
        cost[w] = Math.max(cost[w], cost[w - 1] + 1);
      }
      tables.add(new RateDistortionTable(100, 1 + random.nextDouble(), d, cost));
    }
    return tables;
  }

  private static long minimum(List<RateDistortionTable> tables) {
    return tables.stream().mapToLong(RateDistortionTable::minimumBits).sum();
  }

  @Test
  void partitionsAddUpAndTheBisectedChoiceFitsAndIsOptimalForItsBits() {
    List<RateDistortionTable> fleet = tables(7, 3);
    List<RateDistortionTable> first = fleet.subList(0, 1);
    List<RateDistortionTable> second = fleet.subList(1, 3);
    double hi = Math.max(FleetBudget.largestLambda(first), FleetBudget.largestLambda(second));
    for (double lambda : new double[] {0, 1e-4, 1e-3, 0.01, hi}) {
      FleetBudget.Totals summed =
          FleetBudget.atLambda(first, lambda).plus(FleetBudget.atLambda(second, lambda));
      FleetBudget.Totals whole = FleetBudget.atLambda(fleet, lambda);
      assertThat(summed.bits()).isEqualTo(whole.bits());
      assertThat(summed.distortion()).isCloseTo(whole.distortion(), within(1e-12));
    }
    long budget = minimum(fleet) + 200;
    int[] aggregations = {0};
    double lambda =
        FleetBudget.bisect(
            l -> {
              aggregations[0]++;
              return FleetBudget.atLambda(first, l).bits() + FleetBudget.atLambda(second, l).bits();
            },
            budget,
            hi,
            60);
    FleetBudget.Totals chosen = FleetBudget.atLambda(fleet, lambda);
    assertThat(chosen.bits()).isLessThanOrEqualTo(budget);
    assertThat(aggregations[0]).isEqualTo(62);
    // A Lagrangian choice: nothing spending at most its bits leaves less error (brute force).
    assertThat(bruteForceBest(fleet, chosen.bits())).isCloseTo(chosen.distortion(), within(1e-12));
  }

  @Test
  void aBudgetEvenTheSmallestFormExceedsIsRefusedAndAGenerousOneCostsNothingToFind() {
    List<RateDistortionTable> fleet = tables(3, 3);
    double hi = FleetBudget.largestLambda(fleet);
    assertThatThrownBy(
            () ->
                FleetBudget.bisect(
                    l -> FleetBudget.atLambda(fleet, l).bits(), minimum(fleet) - 1, hi, 60))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the smallest storable form needs");
    assertThat(
            FleetBudget.bisect(
                l -> FleetBudget.atLambda(fleet, l).bits(), Long.MAX_VALUE / 2, hi, 60))
        .isZero();
  }

  @Test
  void adapterWeightsMakeAHeavyAdapterCountLikeALightOne() {
    List<RateDistortionTable> light = tables(11, 3);
    List<RateDistortionTable> heavy = new ArrayList<>();
    light.forEach(t -> heavy.add(t.scaled(1000)));
    long budget = 2 * minimum(light) + 400;

    // Energy: the heavy adapter's errors are 1000 times larger, so it takes more of the bits.
    List<RateDistortionTable> pooled = new ArrayList<>(light);
    pooled.addAll(heavy);
    FleetBudget.Totals energy = split(pooled, budget, 3);
    assertThat(energy.bits()).as("heavy adapter's bits").isGreaterThan(split(pooled, budget, 0).bits());

    // Adapter: each adapter's errors over its own energy; the same adapter up to scale weighs
    // the same whichever copy it is, so at any multiplier both copies get the same widths.
    List<RateDistortionTable> weighed =
        new ArrayList<>(FleetBudget.weighed(light, FleetBudget.Weight.ADAPTER));
    weighed.addAll(FleetBudget.weighed(heavy, FleetBudget.Weight.ADAPTER));
    for (int l = 0; l < 3; l++) {
      RateDistortionTable a = weighed.get(l);
      RateDistortionTable b = weighed.get(l + 3);
      for (int i = 0; i < a.components(); i++) {
        for (int w = 0; w <= a.maxWidth(i); w++) {
          assertThat(b.distortion(i, w))
              .isCloseTo(a.distortion(i, w), within(1e-12 * a.distortion(i, 0)));
        }
      }
    }
    double hi = FleetBudget.largestLambda(weighed);
    for (double lambda : new double[] {hi * 1e-4, hi * 1e-3, hi * 1e-2, hi * 0.1}) {
      int[][] widths = BitAllocator.choose(weighed, lambda);
      for (int l = 0; l < 3; l++) {
        assertThat(widths[l + 3]).as("layer %d at %s", l, lambda).containsExactly(widths[l]);
      }
    }
    assertThat(FleetBudget.weighed(light, FleetBudget.Weight.ENERGY)).isSameAs(light);
    assertThat(FleetBudget.Weight.ADAPTER.of(0)).isZero();
  }

  @Test
  void skippedAdaptersCountAgainstTheBudgetAsTheyAre() {
    // 1.5 bits over 1000 + 3000 parameters = 6000 bits; the skipped store 4000 of them.
    assertThat(FleetBudget.bitsForCompressed(1.5, 1000, 3000, 4000)).isEqualTo(2000);
    assertThat(FleetBudget.bitsForCompressed(1.5, 1000, 3000, 6000)).isZero();
    assertThatThrownBy(() -> FleetBudget.bitsForCompressed(1.4, 1000, 3000, 6000))
        .isInstanceOf(FleetBudget.BudgetExceededException.class)
        .hasMessage(
            "the skipped adapters already store 6000 bits, 400 more than the fleet budget of 1.4"
                + " bits per parameter allows for all 4000 parameters (1.5000 bits per parameter"
                + " over the fleet); raise --budget to at least 1.5000, or add --force to"
                + " re-allocate the whole fleet");
  }

  @Test
  void measuringThenEncodingAtTheFleetsWidthsStoresWhatTheTablesCounted() {
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
    org.loraquant.linalg.LinearAlgebra linalg = org.loraquant.linalg.LinearAlgebra.javaOnly();
    List<RateDistortionTable> tables = new ArrayList<>();
    long params = 0;
    for (LoraFactors f : layers) {
      tables.add(BudgetCodec.measure(f, settings, linalg));
      params += (long) f.r() * (f.m() + f.n());
    }
    long budget = (long) Math.floor(5 * params);
    double lambda =
        FleetBudget.bisect(
            l -> FleetBudget.atLambda(tables, l).bits(),
            budget,
            FleetBudget.largestLambda(tables),
            200);
    int[][] widths = FleetBudget.widthsAt(tables, lambda);
    long stored = 0;
    for (int l = 0; l < layers.size(); l++) {
      BudgetLayerResult r = BudgetCodec.encode(layers.get(l), tables.get(l), widths[l], settings,
          linalg);
      assertThat(r.stats().widths()).containsExactly(widths[l]);
      stored += r.stats().storedBits();
    }
    assertThat(stored).isEqualTo(FleetBudget.atLambda(tables, lambda).bits()).isLessThanOrEqualTo(budget);
    // With the allocator's own widths, encode gives what compress gives (scope adapter).
    int[][] adapterWidths = BitAllocator.allocate(tables, settings.budgetBitsFor(params));
    List<BudgetLayerResult> compressed = BudgetCodec.compress(layers, settings, linalg);
    for (int l = 0; l < layers.size(); l++) {
      BudgetLayerResult r =
          BudgetCodec.encode(layers.get(l), tables.get(l), adapterWidths[l], settings, linalg);
      assertThat(r.layer()).usingRecursiveComparison().isEqualTo(compressed.get(l).layer());
    }
  }

  /** Bits the choice at the bisected lambda gives to the layers from {@code from} on (3 of them). */
  private static FleetBudget.Totals split(List<RateDistortionTable> tables, long budget, int from) {
    double lambda =
        FleetBudget.bisect(
            l -> FleetBudget.atLambda(tables, l).bits(),
            budget,
            FleetBudget.largestLambda(tables),
            200);
    return FleetBudget.atLambda(tables.subList(from, from + 3), lambda);
  }

  /** The least error of any allocation within {@code budget}, by trying every one. */
  private static double bruteForceBest(List<RateDistortionTable> tables, long budget) {
    List<int[]> slots = new ArrayList<>();
    for (int l = 0; l < tables.size(); l++) {
      for (int i = 0; i < tables.get(l).components(); i++) {
        slots.add(new int[] {l, i});
      }
    }
    int[][] widths = new int[tables.size()][];
    for (int l = 0; l < tables.size(); l++) {
      widths[l] = new int[tables.get(l).components()];
    }
    return search(tables, slots, 0, widths, budget);
  }

  private static double search(List<RateDistortionTable> tables, List<int[]> slots, int at,
      int[][] widths, long budget) {
    if (at == slots.size()) {
      return BitAllocator.spent(tables, widths) <= budget
          ? BitAllocator.distortion(tables, widths)
          : Double.POSITIVE_INFINITY;
    }
    int l = slots.get(at)[0];
    int i = slots.get(at)[1];
    RateDistortionTable t = tables.get(l);
    double best = Double.POSITIVE_INFINITY;
    for (int w = t.minWidth(i); w <= t.maxWidth(i); w++) {
      widths[l][i] = w;
      best = Math.min(best, search(tables, slots, at + 1, widths, budget));
    }
    widths[l][i] = 0;
    return best;
  }
}
