package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ParetoSearchTest {
  /**
   * Tables made to tie: errors from a few small integers (equal sums of different allocations)
   * and costs from a shared price per bit, or twice it (equal costs across components and
   * layers), some widths' errors equal to the next one's.
   */
  private static List<RateDistortionTable> tying(Random random) {
    List<RateDistortionTable> tables = new ArrayList<>();
    int perBit = 1 + random.nextInt(3);
    int layers = 1 + random.nextInt(3);
    for (int l = 0; l < layers; l++) {
      int k = 1 + random.nextInt(5);
      double[][] d = new double[k][];
      for (int i = 0; i < k; i++) {
        d[i] = new double[(i == 0 ? 3 : 1) + random.nextInt(7)];
        double e = 8 + random.nextInt(8);
        for (int w = 0; w < d[i].length; w++) {
          d[i][w] = e;
          e = Math.max(0, e - random.nextInt(4));
        }
      }
      long[] cost = new long[RateDistortionTable.MAX_WIDTH + 1];
      cost[0] = 1;
      int layerPerBit = perBit * (1 + random.nextInt(2));
      for (int w = 1; w < cost.length; w++) {
        cost[w] = 1 + (long) w * layerPerBit;
      }
      tables.add(new RateDistortionTable(10, 100, d, cost));
    }
    return tables;
  }

  @Test
  void theMergedRunsGiveTheScanningSearchsAllocationsTiesIncluded() {
    Random random = new Random(18);
    int decided = 0;
    int refused = 0;
    for (int trial = 0; trial < 3000; trial++) {
      List<RateDistortionTable> tables = random.nextBoolean() ? tying(random)
          : List.of(ArbitraryTables.next(random, 2, 6), ArbitraryTables.next(random, 1, 6));
      long least = 0;
      long most = 0;
      for (RateDistortionTable t : tables) {
        least += t.minimumBits();
        int[] widest = new int[t.components()];
        for (int i = 0; i < widest.length; i++) {
          widest[i] = t.maxWidth(i);
        }
        most += t.storedBits(widest);
      }
      long budget = least + (long) (random.nextDouble() * (most - least + 10));
      int limit = random.nextInt(4) == 0 ? 1 + random.nextInt(6) : 4096;
      int[][] expected = reference(tables, budget, limit);
      int[][] actual = ParetoSearch.optimal(tables, budget, limit);
      assertThat(Arrays.deepToString(actual)).isEqualTo(Arrays.deepToString(expected));
      if (expected == null) {
        refused++;
      } else {
        decided++;
      }
    }
    assertThat(decided).isGreaterThan(1000);
    assertThat(refused).isGreaterThan(100);
  }

  // ParetoSearch.optimal before its runs were merged by a heap (each candidate found by a scan
  // of every run), verbatim: the reference the merge must agree with, allocation for allocation.

    static int[][] reference(List<RateDistortionTable> layers, long budgetBits, int limit) {
      int total = 0;
      for (RateDistortionTable t : layers) {
        total += t.components();
      }
      int[] layerOf = new int[total];
      int[] indexOf = new int[total];
      long[] cheapestAfter = new long[total + 1];
      long fixed = 0;
      int c = 0;
      for (int l = 0; l < layers.size(); l++) {
        RateDistortionTable t = layers.get(l);
        fixed += RateDistortionTable.LAYER_FIXED_BITS;
        for (int i = 0; i < t.components(); i++, c++) {
          layerOf[c] = l;
          indexOf[c] = i;
        }
      }
      for (c = total - 1; c >= 0; c--) {
        RateDistortionTable t = layers.get(layerOf[c]);
        cheapestAfter[c] = cheapestAfter[c + 1] + t.cost(t.minWidth(indexOf[c]));
      }
      long[] cost = {fixed};
      double[] error = {0};
      int[][] parent = new int[total][];
      byte[][] width = new byte[total][];
      for (c = 0; c < total; c++) {
        RateDistortionTable t = layers.get(layerOf[c]);
        int i = indexOf[c];
        int lo = t.minWidth(i);
        int options = t.maxWidth(i) - lo + 1;
        // The candidates (state s, width w) cost cost[s] + R(w): for each w an ascending run in s
        // (the frontier's costs ascend), cut where the budget ends. Merging the runs visits the
        // candidates by cost; of those of equal cost (at most one per run) only the least error,
        // the lowest s * options + w on ties, can join the frontier, and it does if its error is
        // below the last entry's: the frontier a stable sort by (cost, error) would give.
        int[] head = new int[options];
        int[] end = new int[options];
        for (int w = lo; w <= t.maxWidth(i); w++) {
          int e = cost.length;
          while (e > 0 && cost[e - 1] + t.cost(w) + cheapestAfter[c + 1] > budgetBits) {
            e--;
          }
          end[w - lo] = e;
        }
        int capacity = 0;
        for (int o = 0; o < options; o++) {
          capacity += end[o];
        }
        long[] nextCost = new long[capacity];
        double[] nextError = new double[capacity];
        int[] nextParent = new int[capacity];
        byte[] nextWidth = new byte[capacity];
        int size = 0;
        while (true) {
          long least = Long.MAX_VALUE;
          for (int o = 0; o < options; o++) {
            if (head[o] < end[o]) {
              least = Math.min(least, cost[head[o]] + t.cost(o + lo));
            }
          }
          if (least == Long.MAX_VALUE) {
            break;
          }
          int bestState = -1;
          int bestOption = -1;
          double bestError = 0;
          for (int o = 0; o < options; o++) {
            if (head[o] < end[o] && cost[head[o]] + t.cost(o + lo) == least) {
              int state = head[o]++;
              double e = error[state] + t.distortion(i, o + lo);
              if (bestState < 0 || e < bestError || (e == bestError
                  && state * options + o < bestState * options + bestOption)) {
                bestState = state;
                bestOption = o;
                bestError = e;
              }
            }
          }
          if (size > 0 && bestError >= nextError[size - 1]) {
            continue; // dominated: a cheaper one has no larger error
          }
          nextCost[size] = least;
          nextError[size] = bestError;
          nextParent[size] = bestState;
          nextWidth[size] = (byte) (bestOption + lo);
          size++;
        }
        if (size > limit || size == 0) {
          return null;
        }
        cost = Arrays.copyOf(nextCost, size);
        error = Arrays.copyOf(nextError, size);
        parent[c] = Arrays.copyOf(nextParent, size);
        width[c] = Arrays.copyOf(nextWidth, size);
      }
      // The frontier's errors fall as its costs rise: the last entry is the best that fits.
      int s = cost.length - 1;
      int[][] widths = new int[layers.size()][];
      for (int l = 0; l < layers.size(); l++) {
        widths[l] = new int[layers.get(l).components()];
      }
      for (c = total - 1; c >= 0; c--) {
        widths[layerOf[c]][indexOf[c]] = width[c][s];
        s = parent[c][s];
      }
      return widths;
    }

}
