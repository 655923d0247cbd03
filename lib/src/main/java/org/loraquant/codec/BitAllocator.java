package org.loraquant.codec;

import java.util.List;

/**
 * Chooses every component's width under a budget of stored bits (docs/ALGORITHM.md, "Budget
 * mode", step B2): minimise the sum of the components' errors D_i(w_i) over one or more layers
 * subject to the stored bits (fixed side information plus every R(w_i)) staying within the budget,
 * with each layer's first component at {@link RateDistortionTable#GUARD_WIDTH} bits or more.
 *
 * <p>Two passes. Lagrangian: for a multiplier lambda >= 0 every component independently takes the
 * width minimising D + lambda R (the narrower on ties); the bits spent fall as lambda rises, and a
 * bisection finds the smallest lambda whose choice fits. That choice is optimal among all
 * allocations spending no more than it does, but it usually leaves some of the budget unspent.
 * Greedy: the leftover then buys, one at a time, the width change with the largest error
 * reduction per extra bit that still fits, until none fits or none helps.
 *
 * <p>Errors of different layers add as the squared norms of their updates, so one budget across
 * the layers of an adapter (scope {@code adapter}) spends bits where they cut the most absolute
 * error, wherever that is.
 */
final class BitAllocator {
  /** Bisection steps on lambda: from the largest useful lambda down to 2^-200 of it. */
  private static final int BISECTION_STEPS = 200;

  private BitAllocator() {}

  /**
   * Widths of every component of every layer ({@code result[l][i]}), spending at most
   * {@code budgetBits}.
   *
   * @throws IllegalArgumentException if the budget cannot hold even the guard (every layer's fixed
   *     side information, its first component at 2 bits, every other dropped)
   */
  static int[][] allocate(List<RateDistortionTable> layers, long budgetBits) {
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
    return widths;
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
