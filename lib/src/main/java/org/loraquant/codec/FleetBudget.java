package org.loraquant.codec;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleToLongFunction;

/**
 * The engine-free half of the fleet budget (issue 20, {@code --budget-scope fleet}): one budget of
 * effective bits per parameter over every adapter a run compresses, spent where it cuts the most
 * of the fleet's error. The Spark side holds the layers' {@link RateDistortionTable}s on the
 * executors and calls these pieces: {@link #atLambda} on each partition (summed), {@link #bisect}
 * on the driver, one aggregation per step.
 *
 * <p>Weights: {@link Weight#ENERGY} minimises the fleet-pooled squared error (each layer's errors
 * as they are); {@link Weight#ADAPTER} divides each adapter's errors by its own energy (the sum of
 * ||B A||_F^2 over its layers), so every adapter counts the same however heavy it is.
 *
 * <p>Incremental runs: adapters the run skips keep their stored bits, which count against the
 * budget as they are; only the adapters to compress share what is left ({@link
 * #bitsForCompressed}).
 */
public final class FleetBudget {
  private FleetBudget() {}

  /** How the layers' errors are weighed against each other. */
  public enum Weight {
    /** The fleet-pooled squared error: every layer's error as it is. */
    ENERGY,
    /** Each adapter's errors divided by its own energy: every adapter counts the same. */
    ADAPTER;

    /** The weight of the errors of an adapter of this energy (sum of its layers' ||B A||^2). */
    public double of(double adapterEnergy) {
      if (this == ENERGY) {
        return 1;
      }
      // An all-zero adapter has no error to weigh: any weight gives it the cheapest widths.
      return adapterEnergy > 0 ? 1 / adapterEnergy : 0;
    }

    /** The name users write: {@code energy} or {@code adapter}. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The skipped adapters already store more than the whole fleet's budget allows. */
  public static final class BudgetExceededException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    BudgetExceededException(String message) {
      super(message);
    }
  }

  /**
   * The bits the adapters to compress may spend: the fleet's budget over all parameters (skipped
   * and to compress), rounded down, less what the skipped adapters store.
   *
   * @param budgetBits effective bits per parameter over the fleet
   * @param compressParams parameters of the adapters to compress (r (m + n) over their layers)
   * @param skippedParams parameters of the skipped adapters
   * @param skippedStoredBits what their layers store (sum of their layers' effective bits)
   * @throws BudgetExceededException when the skipped adapters alone exceed the budget, saying by
   *     how much
   */
  public static long bitsForCompressed(double budgetBits, long compressParams,
      long skippedParams, long skippedStoredBits) {
    long fleetBits = (long) Math.floor(budgetBits * (compressParams + skippedParams));
    long left = fleetBits - skippedStoredBits;
    if (left < 0) {
      throw new BudgetExceededException(String.format(Locale.ROOT,
          "the skipped adapters already store %d bits, %d more than the fleet budget of %s bits"
              + " per parameter allows for all %d parameters (%.4f bits per parameter over the"
              + " fleet); raise --budget to at least %.4f, or add --force to re-allocate the"
              + " whole fleet",
          skippedStoredBits, -left, plain(budgetBits), compressParams + skippedParams,
          (double) skippedStoredBits / Math.max(1, compressParams + skippedParams),
          (double) skippedStoredBits / Math.max(1, compressParams + skippedParams)));
    }
    return left;
  }

  /**
   * The tables of one adapter's layers with their errors weighed by {@code weight} (for {@link
   * Weight#ADAPTER}, divided by the adapter's energy); costs unchanged.
   */
  public static List<RateDistortionTable> weighed(List<RateDistortionTable> adapter,
      Weight weight) {
    double energy = 0;
    for (RateDistortionTable t : adapter) {
      energy += t.energy();
    }
    double w = weight.of(energy);
    if (w == 1) {
      return adapter;
    }
    List<RateDistortionTable> weighed = new ArrayList<>(adapter.size());
    for (RateDistortionTable t : adapter) {
      weighed.add(t.scaled(w));
    }
    return weighed;
  }

  /**
   * What one partition of (weighed) tables contributes at multiplier {@code lambda}: every
   * component takes the width minimising D + lambda R; the bits it stores and the error it leaves.
   * Partitions' totals add.
   */
  public static Totals atLambda(List<RateDistortionTable> tables, double lambda) {
    int[][] widths = BitAllocator.choose(tables, lambda);
    return new Totals(BitAllocator.spent(tables, widths),
        BitAllocator.distortion(tables, widths));
  }

  /**
   * The widths of every component of these (weighed) tables at multiplier {@code lambda}, as
   * {@link #atLambda} counted them: what each layer is then encoded at ({@link
   * BudgetCodec#encode}).
   */
  public static int[][] widthsAt(List<RateDistortionTable> tables, double lambda) {
    return BitAllocator.choose(tables, lambda);
  }

  /** The largest multiplier worth trying for these tables: every width is cheapest above it. */
  public static double largestLambda(List<RateDistortionTable> tables) {
    double largest = 0;
    for (RateDistortionTable t : tables) {
      for (int i = 0; i < t.components(); i++) {
        for (int w = 0; w <= t.maxWidth(i); w++) {
          largest = Math.max(largest, t.distortion(i, w));
        }
      }
    }
    return 2 * largest + Double.MIN_NORMAL;
  }

  /**
   * The smallest multiplier (to {@code steps} bisection steps) whose choice stores at most {@code
   * budget} bits, given {@code spentAt}: the fleet's bits at a multiplier (on Spark, one
   * aggregation over the persisted tables). 0 when even lambda 0 fits.
   *
   * @param hi a multiplier that fits ({@link #largestLambda}, the largest over all partitions)
   * @throws IllegalArgumentException when even {@code hi} does not fit: the budget cannot hold the
   *     smallest storable form
   */
  public static double bisect(DoubleToLongFunction spentAt, long budget, double hi, int steps) {
    if (spentAt.applyAsLong(0) <= budget) {
      return 0;
    }
    if (spentAt.applyAsLong(hi) > budget) {
      throw new IllegalArgumentException("fleet budget of " + budget + " bits is below the "
          + spentAt.applyAsLong(hi) + " bits the smallest storable form needs");
    }
    double lo = 0;
    for (int step = 0; step < steps; step++) {
      double mid = 0.5 * (lo + hi);
      if (spentAt.applyAsLong(mid) <= budget) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return hi;
  }

  /** Bits stored and weighed squared error of a choice of widths. */
  public record Totals(long bits, double distortion) implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    public Totals plus(Totals other) {
      return new Totals(bits + other.bits, distortion + other.distortion);
    }
  }

  private static String plain(double value) {
    return java.math.BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }
}
