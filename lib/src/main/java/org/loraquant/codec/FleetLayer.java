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
 * allocator's own tie rule.
 *
 * <p>Bits are counted as the layer's record in format v2 stores them, exactly ({@link
 * #storedBits}): the fleet's budget bounds the bits the files hold, not the adapter scope's count,
 * which charges each layer a 64-byte header allowance the record does not store (kept there so
 * that the adapter and layer scopes' outputs keep their bytes). For the same widths the record
 * count is never above the adapter scope's, so the adapter scope's allocation of every adapter is
 * still one of the fleet's candidates.
 */
public final class FleetLayer implements Serializable {
  private static final long serialVersionUID = 2L;

  /**
   * The record's bits that do not depend on the widths: {@code M.lq.meta2} (six int32) and
   * {@code M.lq.crc} (one int32) of format v2 ({@code format.BudgetLayerLayout}).
   */
  static final long RECORD_FIXED_BITS = 8 * (6 * 4 + 4);

  /** A layer's shape as its header gives it: B is rows x rank, A is rank x cols. */
  public record Shape(int rows, int cols, int rank) {
    public Shape {
      if (rows < 0 || cols < 0 || rank < 0) {
        throw new IllegalArgumentException("shape " + rows + " x " + cols + " of rank " + rank);
      }
    }
  }

  private final String adapter;
  private final String module;
  private final double weight;
  private final int rows;
  private final int cols;
  private final long params;
  private final double energy;
  private final double[][] distortion;
  private final long[] cost;
  /** Rebuilt on first use after deserialisation; shares the arrays above. */
  private transient RateDistortionTable table;

  private FleetLayer(String adapter, String module, double weight, int rows, int cols,
      long params, double energy, double[][] distortion, long[] cost) {
    if (!(weight > 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException(adapter + ":" + module + ": weight " + weight
          + " must be positive and finite");
    }
    this.adapter = adapter;
    this.module = module;
    this.weight = weight;
    this.rows = rows;
    this.cols = cols;
    this.params = params;
    this.energy = energy;
    this.distortion = distortion;
    this.cost = cost;
  }

  /** The layer's thin SVD and rate-distortion table (weight 1; see {@link #withWeight}). */
  public static FleetLayer measure(String adapter, String module, LoraFactors factors,
      LevelFamily levels, int groupSize, LinearAlgebra linalg) {
    BalancedLayer layer = BalancedLayer.of(factors, linalg);
    return of(adapter, module, factors.m(), factors.n(),
        RateDistortionTable.measure(layer, levels, groupSize));
  }

  /** A copy of every entry of the table of a {@code rows x cols} layer, weight 1. */
  static FleetLayer of(String adapter, String module, int rows, int cols,
      RateDistortionTable table) {
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
    return new FleetLayer(adapter, module, 1, rows, cols, table.params(), table.energy(), d,
        cost);
  }

  /** The same layer with its errors weighted by {@code value} (e.g. {@link FleetWeight#weightOf}). */
  public FleetLayer withWeight(double value) {
    return new FleetLayer(adapter, module, value, rows, cols, params, energy, distortion, cost);
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

  /** m: rows of B. */
  public int rows() {
    return rows;
  }

  /** n: columns of A. */
  public int cols() {
    return cols;
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

  /** The table with every error multiplied by the weight and {@code factor}. */
  RateDistortionTable weightedTable(double factor) {
    double[][] d = new double[distortion.length][];
    for (int i = 0; i < d.length; i++) {
      d[i] = distortion[i].clone();
      for (int w = 0; w < d[i].length; w++) {
        d[i][w] *= weight * factor;
      }
    }
    return new RateDistortionTable(params, energy, d, cost);
  }

  /**
   * Smallest storable form: side information and the first component at the guard width, every
   * other dropped; the bits its record stores.
   */
  public long minimumBits() {
    return storedBits(guardWidths(components()));
  }

  /**
   * The bits the smallest storable form of these layers stores (each layer's record with its first
   * component at the guard width, {@value RateDistortionTable#GUARD_WIDTH} bits, and every other
   * dropped), from their shapes alone: what {@link FleetAllocator} refuses a budget below, and
   * exactly what the encoder then stores. {@code levels} and {@code groupSize} are the codec's.
   */
  public static long smallestStorableBits(List<Shape> shapes, LevelFamily levels, int groupSize) {
    long bits = 0;
    for (Shape s : shapes) {
      int k = Math.min(s.rank(), Math.min(s.rows(), s.cols()));
      long[] cost = RateDistortionTable.costs(levels, s.rows(), s.cols(), groupSize);
      bits = Math.addExact(bits, recordBits(s.rows(), s.cols(), cost, guardWidths(k)));
    }
    return bits;
  }

  private static int[] guardWidths(int k) {
    int[] widths = new int[k];
    if (k > 0) {
      widths[0] = RateDistortionTable.GUARD_WIDTH;
    }
    return widths;
  }

  /**
   * Bits of a layer's record with these widths (format v2, {@code format.BudgetLayerLayout}):
   * meta and CRC, then per component its byte of the width map, its scales and zero points (all
   * in R(w)), and the codes, which are packed over all kept components of a side into one stream
   * padded to whole bytes: R(w) counts a component's codes unpadded, so the padding of each side
   * is added here.
   */
  private static long recordBits(int rows, int cols, long[] cost, int[] widths) {
    long bits = RECORD_FIXED_BITS;
    long widthSum = 0;
    for (int w : widths) {
      bits += cost[w];
      widthSum += w;
    }
    return bits + padding(rows * widthSum) + padding(cols * widthSum);
  }

  /**
   * The bits one component's change from width {@code from} to {@code to} adds to the record
   * (negative if it frees bits), the layer's widths summing to {@code widthSum} before it: exactly
   * {@code storedBits} after the change less before.
   */
  long extraBits(long widthSum, int from, int to) {
    long after = widthSum - from + to;
    return cost[to] - cost[from]
        + padding(rows * after) - padding(rows * widthSum)
        + padding(cols * after) - padding(cols * widthSum);
  }

  /** Bits that pad {@code bits} to whole bytes. */
  private static long padding(long bits) {
    return 8 * GroupGeometry.bytesForBits(bits) - bits;
  }

  /**
   * Bits the adapter scope's count ({@link RateDistortionTable#storedBits}) of any widths is at
   * least above {@link #storedBits}: its header allowance less this record's fixed bits and the
   * most each side's code padding can be (8 - gcd(length, 8) bits).
   */
  long countAllowance() {
    return RateDistortionTable.LAYER_FIXED_BITS - RECORD_FIXED_BITS - maxPadding(rows)
        - maxPadding(cols);
  }

  private static long maxPadding(int length) {
    return 8 - Math.min(8, Integer.lowestOneBit(length == 0 ? 8 : length));
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

  /** Bits the layer's record stores with these widths, side information included. */
  public long storedBits(int[] widths) {
    return recordBits(rows, cols, cost, widths);
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
        && weight == f.weight && rows == f.rows && cols == f.cols && params == f.params
        && energy == f.energy
        && Arrays.deepEquals(distortion, f.distortion) && Arrays.equals(cost, f.cost);
  }

  @Override
  public int hashCode() {
    return key().hashCode();
  }
}
