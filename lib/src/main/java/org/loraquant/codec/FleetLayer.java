package org.loraquant.codec;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import org.loraquant.linalg.LinearAlgebra;

/**
 * One layer of the fleet as the fleet allocator sees it (docs/ALGORITHM.md, "Fleet budget"): its
 * adapter and module, the weight on its errors ({@link FleetWeight}) and a copy of its
 * {@link RateDistortionTable} (k x at most 9 doubles and the 9 costs). Small and self-contained, so
 * an engine can persist it and ship it to executors; the layer's factors are not in it.
 *
 * <p>The width choices are those of {@link BitAllocator}: at a multiplier lambda a component takes
 * the width minimising weight x D + lambda x R, that is D + (lambda / weight) R, with the
 * allocator's own tie rule, so the fleet and the adapter scope count bits the same way.
 */
public final class FleetLayer implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String adapter;
  private final String module;
  private final double weight;
  private final long params;
  private final double energy;
  private final double[][] distortion;
  private final long[] cost;
  /** Rebuilt on first use after deserialisation; shares the arrays above. */
  private transient RateDistortionTable table;

  private FleetLayer(String adapter, String module, double weight, long params, double energy,
      double[][] distortion, long[] cost) {
    if (!(weight > 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException(adapter + ":" + module + ": weight " + weight
          + " must be positive and finite");
    }
    this.adapter = adapter;
    this.module = module;
    this.weight = weight;
    this.params = params;
    this.energy = energy;
    this.distortion = distortion;
    this.cost = cost;
  }

  /** The layer's thin SVD and rate-distortion table (weight 1; see {@link #withWeight}). */
  public static FleetLayer measure(String adapter, String module, LoraFactors factors,
      LevelFamily levels, int groupSize, LinearAlgebra linalg) {
    BalancedLayer layer = BalancedLayer.of(factors, linalg);
    return of(adapter, module, RateDistortionTable.measure(layer, levels, groupSize));
  }

  /** A copy of every entry of the table, weight 1. */
  static FleetLayer of(String adapter, String module, RateDistortionTable table) {
    double[][] d = new double[table.components()][];
    for (int i = 0; i < d.length; i++) {
      d[i] = new double[table.maxWidth(i) + 1];
      for (int w = 0; w < d[i].length; w++) {
        d[i][w] = table.distortion(i, w);
      }
    }
    long[] cost = new long[RateDistortionTable.MAX_WIDTH + 1];
    for (int w = 0; w < cost.length; w++) {
      cost[w] = table.cost(w);
    }
    return new FleetLayer(adapter, module, 1, table.params(), table.energy(), d, cost);
  }

  /** The same layer with its errors weighted by {@code value} (e.g. {@link FleetWeight#weightOf}). */
  public FleetLayer withWeight(double value) {
    return new FleetLayer(adapter, module, value, params, energy, distortion, cost);
  }

  public String adapter() {
    return adapter;
  }

  public String module() {
    return module;
  }

  /** The key the allocation's upgrades are stored under: adapter and module. */
  String key() {
    return adapter + '\u0000' + module;
  }

  public double weight() {
    return weight;
  }

  /** r (m + n): the parameters the budget is counted over. */
  public long params() {
    return params;
  }

  /** ||B A||_F^2 of the layer. */
  public double energy() {
    return energy;
  }

  public int components() {
    return distortion.length;
  }

  RateDistortionTable table() {
    if (table == null) {
      table = new RateDistortionTable(params, energy, distortion, cost);
    }
    return table;
  }

  /** The table with every error multiplied by the weight. */
  RateDistortionTable weightedTable() {
    double[][] d = new double[distortion.length][];
    for (int i = 0; i < d.length; i++) {
      d[i] = distortion[i].clone();
      for (int w = 0; w < d[i].length; w++) {
        d[i][w] *= weight;
      }
    }
    return new RateDistortionTable(params, energy, d, cost);
  }

  /** Smallest storable form: side information and the first component at the guard width. */
  public long minimumBits() {
    return table().minimumBits();
  }

  /** The largest weighted error in the table: above twice it, the cheapest widths win. */
  double largestWeightedError() {
    double largest = 0;
    for (double[] row : distortion) {
      for (double v : row) {
        largest = Math.max(largest, v);
      }
    }
    return weight * largest;
  }

  /** Every component's width at multiplier {@code lambda} on the weighted errors. */
  public int[] widthsAt(double lambda) {
    return BitAllocator.choose(List.of(table()), lambda / weight)[0];
  }

  /** Bits stored with these widths, side information included. */
  public long storedBits(int[] widths) {
    return table().storedBits(widths);
  }

  /** The layer's error with these widths, unweighted: the sum of its components' D_i(w_i). */
  public double error(int[] widths) {
    double d = 0;
    for (int i = 0; i < widths.length; i++) {
      d += distortion[i][widths[i]];
    }
    return d;
  }

  double distortion(int i, int width) {
    return distortion[i][width];
  }

  int minWidth(int i) {
    return table().minWidth(i);
  }

  int maxWidth(int i) {
    return distortion[i].length - 1;
  }

  long cost(int width) {
    return cost[width];
  }

  @Override
  public String toString() {
    return adapter + ":" + module + " (" + components() + " components, " + params
        + " parameters, weight " + weight + ")";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FleetLayer f && adapter.equals(f.adapter) && module.equals(f.module)
        && weight == f.weight && params == f.params && energy == f.energy
        && Arrays.deepEquals(distortion, f.distortion) && Arrays.equals(cost, f.cost);
  }

  @Override
  public int hashCode() {
    return key().hashCode();
  }
}
