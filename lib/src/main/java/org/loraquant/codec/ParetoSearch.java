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
      int n = cost.length * options;
      long[] candCost = new long[n];
      double[] candError = new double[n];
      int[] candKey = new int[n]; // parent state * options + (width - lo)
      int kept = 0;
      for (int s = 0; s < cost.length; s++) {
        for (int w = lo; w <= t.maxWidth(i); w++) {
          long bits = cost[s] + t.cost(w);
          if (bits + cheapestAfter[c + 1] > budgetBits) {
            continue;
          }
          candCost[kept] = bits;
          candError[kept] = error[s] + t.distortion(i, w);
          candKey[kept] = s * options + (w - lo);
          kept++;
        }
      }
      Integer[] sorted = new Integer[kept];
      for (int x = 0; x < kept; x++) {
        sorted[x] = x;
      }
      Arrays.sort(sorted, (x, y) -> {
        int byCost = Long.compare(candCost[x], candCost[y]);
        return byCost != 0 ? byCost : Double.compare(candError[x], candError[y]);
      });
      long[] nextCost = new long[kept];
      double[] nextError = new double[kept];
      int[] nextParent = new int[kept];
      byte[] nextWidth = new byte[kept];
      int size = 0;
      for (int x : sorted) {
        if (size > 0 && candError[x] >= nextError[size - 1]) {
          continue; // dominated: a cheaper (or equal) one has no larger error
        }
        nextCost[size] = candCost[x];
        nextError[size] = candError[x];
        nextParent[size] = candKey[x] / options;
        nextWidth[size] = (byte) (candKey[x] % options + lo);
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
