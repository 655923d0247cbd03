package org.loraquant.codec;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Map;

/**
 * One step of the fleet's lambda search as an aggregation (docs/ALGORITHM.md, "Fleet budget"):
 * for each candidate multiplier, the bits every layer stores and its weighted error when each of
 * its components takes the width minimising D + lambda R. {@link #of} maps one layer,
 * {@link #plus} combines two partial sums.
 *
 * <p>The search decides on the bits only, which are sums of longs: exact, so any split or order
 * of the layers gives the same lambda and the same widths bit for bit. The errors are doubles,
 * for reporting; their last bits may depend on the order of the sums.
 */
public final class FleetSums implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long[] bits;
  private final double[] error;

  private FleetSums(long[] bits, double[] error) {
    this.bits = bits;
    this.error = error;
  }

  /** The neutral element for {@code candidates} multipliers. */
  public static FleetSums zero(int candidates) {
    return new FleetSums(new long[candidates], new double[candidates]);
  }

  /** One layer's bits and weighted error at each multiplier. */
  public static FleetSums of(FleetLayer layer, double[] lambdas) {
    return of(layer, Map.of(), lambdas);
  }

  /**
   * One layer's bits and weighted error at each multiplier, its weight multiplied by its adapter's
   * factor in {@code factors} (1 if absent).
   */
  public static FleetSums of(FleetLayer layer, Map<String, Double> factors, double[] lambdas) {
    double factor = FleetAllocation.factor(factors, layer.adapter());
    long[] bits = new long[lambdas.length];
    double[] error = new double[lambdas.length];
    for (int c = 0; c < lambdas.length; c++) {
      int[] widths = layer.widthsAt(lambdas[c] / factor);
      bits[c] = layer.storedBits(widths);
      error[c] = factor * layer.weight() * layer.error(widths);
    }
    return new FleetSums(bits, error);
  }

  /** The sums over both parts (neither is changed). */
  public FleetSums plus(FleetSums other) {
    if (other.bits.length != bits.length) {
      throw new IllegalArgumentException("sums over " + bits.length + " and "
          + other.bits.length + " multipliers cannot be combined");
    }
    long[] b = new long[bits.length];
    double[] e = new double[bits.length];
    for (int c = 0; c < b.length; c++) {
      b[c] = Math.addExact(bits[c], other.bits[c]);
      e[c] = error[c] + other.error[c];
    }
    return new FleetSums(b, e);
  }

  public int candidates() {
    return bits.length;
  }

  /** Bits stored at candidate {@code c}, side information included. */
  public long bits(int c) {
    return bits[c];
  }

  /** Weighted error at candidate {@code c}. */
  public double error(int c) {
    return error[c];
  }

  @Override
  public String toString() {
    return "bits " + Arrays.toString(bits) + ", error " + Arrays.toString(error);
  }
}
