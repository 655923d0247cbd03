package org.loraquant.codec;

import java.util.Arrays;
import java.util.List;

/**
 * The exact width allocation for small problems: dynamic programming over the components in
 * order, keeping only the Pareto frontier of partial allocations (no other spends as little with
 * as small an error). Every partial allocation that could still fit the budget, given the cheapest
 * widths of the components after it, is kept. Gives up (null) once the frontier exceeds a limit,
 * which bounds the work to components x limit x 9.
 */
final class ParetoSearch {
  private ParetoSearch() {}

  /**
   * The allocation with the least total error within {@code budgetBits} (the guard included), or
   * null when the frontier would exceed {@code limit} entries. Ties go to the cheaper allocation.
   */
  static int[][] optimal(List<RateDistortionTable> layers, long budgetBits, int limit) {
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
