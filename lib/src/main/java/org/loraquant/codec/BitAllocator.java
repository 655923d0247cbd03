package org.loraquant.codec;

import java.util.List;

/**
 * Chooses every component's width under a budget of stored bits (docs/ALGORITHM.md, "Budget
 * mode", step B2): minimise the sum of the components' errors D_i(w_i) over one or more layers
 * subject to the stored bits (fixed side information plus every R(w_i)) staying within the budget,
 * with each layer's first component at {@link RateDistortionTable#GUARD_WIDTH} bits or more.
 *
 * <p>Small problems (every layer of the usual LoRA ranks on its own, scope {@code layer}) are
 * solved exactly by {@link ParetoSearch}. Where its frontier grows past
 * {@link #EXACT_FRONTIER_LIMIT} (one budget over many layers), three passes instead:
 *
 * <ol>
 *   <li>Lagrangian: for a multiplier lambda >= 0 every component independently takes the width
 *       minimising D + lambda R (the narrower on ties); the bits spent fall as lambda rises, and
 *       a bisection finds the smallest lambda whose choice fits. That choice is optimal among all
 *       allocations spending no more than it does, but it usually leaves some budget unspent.
 *   <li>Greedy: the leftover buys, one at a time, the width change with the largest error
 *       reduction per extra bit that still fits, until none fits or none helps.
 *   <li>Exchange: a width change that does not fit may still pay for itself by narrowing another
 *       component; the best such pair is applied, the leftover spent again, and so on until no
 *       pair lowers the error.
 * </ol>
 *
 * The problem is a knapsack: the passes are not optimal in every case (a change may need two
 * others to pay for it), but what they miss is less than the smallest width change, on real
 * layers a few hundred bits out of hundreds of thousands.
 *
 * <p>Errors of different layers add as the squared norms of their updates, so one budget across
 * the layers of an adapter (scope {@code adapter}) spends bits where they cut the most absolute
 * error, wherever that is.
 */
final class BitAllocator {
  /** Bisection steps on lambda: from the largest useful lambda down to 2^-200 of it. */
  private static final int BISECTION_STEPS = 200;
  /** Largest Pareto frontier the exact search keeps before it gives way to the three passes. */
  static final int EXACT_FRONTIER_LIMIT = 4096;

  private BitAllocator() {}

  /**
   * Widths of every component of every layer ({@code result[l][i]}), spending at most
   * {@code budgetBits}.
   *
   * @throws IllegalArgumentException if the budget cannot hold even the guard (every layer's fixed
   *     side information, its first component at 2 bits, every other dropped)
   */
  static int[][] allocate(List<RateDistortionTable> layers, long budgetBits) {
    return allocate(layers, budgetBits, EXACT_FRONTIER_LIMIT);
  }

  /** As {@link #allocate(List, long)}, with the exact search's frontier limit (0: never exact). */
  static int[][] allocate(List<RateDistortionTable> layers, long budgetBits, int frontierLimit) {
    long minimum = 0;
    double largest = 0;
    for (RateDistortionTable t : layers) {
      minimum += t.minimumBits();
      for (int i = 0; i < t.components(); i++) {
        for (int w = 0; w <= t.maxWidth(i); w++) {
          largest = Math.max(largest, t.distortion(i, w));
        }
      }
    }
    if (minimum > budgetBits) {
      throw new IllegalArgumentException("budget of " + budgetBits + " bits is below the "
          + minimum + " bits the smallest storable form needs (side information and the first"
          + " component of each layer at " + RateDistortionTable.GUARD_WIDTH + " bits)");
    }
    int[][] exact = ParetoSearch.optimal(layers, budgetBits, frontierLimit);
    if (exact != null) {
      return exact;
    }
    int[][] widths = choose(layers, 0);
    if (spent(layers, widths) > budgetBits) {
      // Above this lambda every error difference is worth less than one bit: the cheapest
      // allowed width wins everywhere, which fits (checked above).
      double hi = 2 * largest + Double.MIN_NORMAL;
      double lo = 0;
      widths = choose(layers, hi);
      for (int step = 0; step < BISECTION_STEPS; step++) {
        double mid = 0.5 * (lo + hi);
        int[][] candidate = choose(layers, mid);
        if (spent(layers, candidate) <= budgetBits) {
          hi = mid;
          widths = candidate;
        } else {
          lo = mid;
        }
      }
    }
    spendLeftover(layers, widths, budgetBits);
    // Every exchange lowers the total error; the cap only guards against rounding ties.
    int components = 0;
    for (RateDistortionTable t : layers) {
      components += t.components();
    }
    for (int round = 0; round < 16 * components && exchange(layers, widths, budgetBits); round++) {
      spendLeftover(layers, widths, budgetBits);
    }
    return widths;
  }

  /**
   * The exchange pass: the best pair of one component's downgrade that frees the bits another
   * component's upgrade lacks, applied if together they lower the error. Candidates: every
   * downgrade (bits freed f, error added), sorted by f with the two smallest errors added from
   * different components over each suffix; for every upgrade that does not fit, the cheapest
   * downgrade freeing enough is a binary search away. Returns whether a pair was applied.
   */
  private static boolean exchange(List<RateDistortionTable> layers, int[][] widths,
      long budgetBits) {
    long left = budgetBits - spent(layers, widths);
    List<long[]> downs = new java.util.ArrayList<>(); // {freed, component id, layer, index, width}
    List<Double> downLoss = new java.util.ArrayList<>();
    int id = 0;
    for (int l = 0; l < layers.size(); l++) {
      RateDistortionTable t = layers.get(l);
      for (int i = 0; i < t.components(); i++, id++) {
        int current = widths[l][i];
        for (int w = t.minWidth(i); w < current; w++) {
          downs.add(new long[] {t.cost(current) - t.cost(w), id, l, i, w});
        }
      }
    }
    downs.sort((x, y) -> Long.compare(x[0], y[0]));
    int size = downs.size();
    double[] loss = new double[size];
    for (int d = 0; d < size; d++) {
      long[] c = downs.get(d);
      RateDistortionTable t = layers.get((int) c[2]);
      int i = (int) c[3];
      loss[d] = t.distortion(i, (int) c[4]) - t.distortion(i, widths[(int) c[2]][i]);
    }
    // best[d] / second[d]: the downgrades with the smallest loss among d..size-1, from two
    // different components (second -1 when there is no other component).
    int[] best = new int[size + 1];
    int[] second = new int[size + 1];
    best[size] = -1;
    second[size] = -1;
    for (int d = size - 1; d >= 0; d--) {
      int b = best[d + 1];
      int s = second[d + 1];
      if (b < 0) {
        b = d;
      } else if (loss[d] < loss[b]) {
        // The old best is the runner-up if it is of another component; otherwise the runner-up,
        // already of another component than both, stays.
        if (downs.get(d)[1] != downs.get(b)[1]) {
          s = b;
        }
        b = d;
      } else if (downs.get(d)[1] != downs.get(b)[1] && (s < 0 || loss[d] < loss[s])) {
        s = d;
      }
      best[d] = b;
      second[d] = s;
    }
    double bestGain = 0;
    int[] move = null;
    id = 0;
    for (int l = 0; l < layers.size(); l++) {
      RateDistortionTable t = layers.get(l);
      for (int i = 0; i < t.components(); i++, id++) {
        int current = widths[l][i];
        for (int w = current + 1; w <= t.maxWidth(i); w++) {
          long extra = t.cost(w) - t.cost(current);
          double gain = t.distortion(i, current) - t.distortion(i, w);
          if (extra <= left || gain <= 0) {
            continue;
          }
          int from = firstFreeing(downs, extra - left);
          if (from >= size) {
            continue;
          }
          int d = best[from];
          if (d >= 0 && downs.get(d)[1] == id) {
            d = second[from];
          }
          if (d >= 0 && gain - loss[d] > bestGain) {
            bestGain = gain - loss[d];
            long[] c = downs.get(d);
            move = new int[] {l, i, w, (int) c[2], (int) c[3], (int) c[4]};
          }
        }
      }
    }
    if (move == null) {
      return false;
    }
    widths[move[0]][move[1]] = move[2];
    widths[move[3]][move[4]] = move[5];
    return true;
  }

  /** Index of the first downgrade (sorted by bits freed) freeing at least {@code need} bits. */
  private static int firstFreeing(List<long[]> downs, long need) {
    int lo = 0;
    int hi = downs.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (downs.get(mid)[0] >= need) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  /** Every component's width minimising D + lambda R over its allowed widths (narrower on ties). */
  static int[][] choose(List<RateDistortionTable> layers, double lambda) {
    int[][] widths = new int[layers.size()][];
    for (int l = 0; l < layers.size(); l++) {
      RateDistortionTable t = layers.get(l);
      widths[l] = new int[t.components()];
      for (int i = 0; i < t.components(); i++) {
        int best = t.minWidth(i);
        double bestValue = t.distortion(i, best) + lambda * t.cost(best);
        for (int w = best + 1; w <= t.maxWidth(i); w++) {
          double value = t.distortion(i, w) + lambda * t.cost(w);
          if (value < bestValue) {
            best = w;
            bestValue = value;
          }
        }
        widths[l][i] = best;
      }
    }
    return widths;
  }

  /** Bits stored with these widths, side information included. */
  static long spent(List<RateDistortionTable> layers, int[][] widths) {
    long bits = 0;
    for (int l = 0; l < layers.size(); l++) {
      bits += layers.get(l).storedBits(widths[l]);
    }
    return bits;
  }

  /** Sum of the components' errors D_i(w_i). */
  static double distortion(List<RateDistortionTable> layers, int[][] widths) {
    double d = 0;
    for (int l = 0; l < layers.size(); l++) {
      RateDistortionTable t = layers.get(l);
      for (int i = 0; i < t.components(); i++) {
        d += t.distortion(i, widths[l][i]);
      }
    }
    return d;
  }

  /**
   * The greedy pass: while some width change lowers the error and fits in what is left, take the
   * one with the largest error reduction per bit (a change that frees bits and lowers the error
   * first of all). Each change lowers the total error, so the pass ends.
   */
  private static void spendLeftover(List<RateDistortionTable> layers, int[][] widths,
      long budgetBits) {
    long left = budgetBits - spent(layers, widths);
    while (true) {
      int bestLayer = -1;
      int bestComponent = -1;
      int bestWidth = -1;
      double bestRatio = 0;
      for (int l = 0; l < layers.size(); l++) {
        RateDistortionTable t = layers.get(l);
        for (int i = 0; i < t.components(); i++) {
          int current = widths[l][i];
          for (int w = t.minWidth(i); w <= t.maxWidth(i); w++) {
            double gain = t.distortion(i, current) - t.distortion(i, w);
            long extra = t.cost(w) - t.cost(current);
            if (w == current || gain <= 0 || extra > left) {
              continue;
            }
            double ratio = extra <= 0 ? Double.POSITIVE_INFINITY : gain / extra;
            if (ratio > bestRatio) {
              bestRatio = ratio;
              bestLayer = l;
              bestComponent = i;
              bestWidth = w;
            }
          }
        }
      }
      if (bestLayer < 0) {
        return;
      }
      RateDistortionTable t = layers.get(bestLayer);
      left -= t.cost(bestWidth) - t.cost(widths[bestLayer][bestComponent]);
      widths[bestLayer][bestComponent] = bestWidth;
    }
  }
}
