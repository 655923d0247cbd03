package org.loraquant.codec;

import java.io.Serializable;
import org.loraquant.linalg.LinearAlgebra;

/**
 * One layer measured for a fleet budget (docs/ALGORITHM.md, "Fleet budget"): its table as the
 * allocator sees it ({@link #fleetLayer}) and what encoding it at the allocated widths needs, its
 * thin SVD as balanced factors, so that {@link BudgetCodec#encode(MeasuredLayer, int[],
 * BudgetSettings, LinearAlgebra)} neither reads the layer again nor decomposes it again.
 *
 * <p>Serializable so that an engine can persist it between the allocation's passes and the
 * encoding: about 8 (m + n) k bytes, twice the layer's float32 factors (four times bfloat16's),
 * plus k x 9 doubles of table. The arrays are kept as measured, padding included, so that the
 * encoding takes the same blocked paths and stores the same bytes as from the factors.
 * Read-only: encoding does not change them.
 */
public final class MeasuredLayer implements Serializable {
  private static final long serialVersionUID = 1L;

  private final FleetLayer table;
  private final LevelFamily levels;
  private final int groupSize;
  private final int m;
  private final int n;
  private final int rank;
  private final double[] s;
  private final double[] bp;
  private final double[] ap;
  private final long nanos;

  private MeasuredLayer(FleetLayer table, LevelFamily levels, int groupSize, BalancedLayer layer,
      long nanos) {
    this.table = table;
    this.levels = levels;
    this.groupSize = groupSize;
    this.m = layer.m();
    this.n = layer.n();
    this.rank = layer.rank();
    this.s = layer.s();
    this.bp = layer.bp();
    this.ap = layer.ap();
    this.nanos = nanos;
  }

  /**
   * The layer's thin SVD and its complete rate-distortion table, as {@link FleetLayer#measure}
   * computes them, kept together.
   *
   * @throws org.loraquant.errors.InvalidAdapterException if a factor holds NaN or infinity
   */
  static MeasuredLayer measure(String adapter, String module, LoraFactors factors,
      BudgetSettings settings, LinearAlgebra linalg) {
    long started = System.nanoTime();
    BalancedLayer layer = BalancedLayer.of(factors, linalg);
    FleetLayer table = FleetLayer.of(adapter, module, factors.m(), factors.n(),
        RateDistortionTable.measure(layer, settings.levels(), settings.groupSize()));
    return new MeasuredLayer(table, settings.levels(), settings.groupSize(), layer,
        System.nanoTime() - started);
  }

  /** What the fleet allocator needs of the layer: its table, weight 1. */
  public FleetLayer fleetLayer() {
    return table;
  }

  public String adapter() {
    return table.adapter();
  }

  public String module() {
    return table.module();
  }

  /**
   * Time spent measuring, in nanoseconds; the encoded layer's stats count it with the encoding's
   * own, as {@link BudgetCodec#compress} does.
   */
  public long nanos() {
    return nanos;
  }

  /** The same layer with another measuring time, e.g. one that includes reading it. */
  public MeasuredLayer withNanos(long value) {
    return new MeasuredLayer(table, levels, groupSize, balanced(), value);
  }

  /** Bytes of the held factors and singular values (the table is small beside them). */
  public long factorBytes() {
    return 8L * (s.length + bp.length + ap.length);
  }

  BalancedLayer balanced() {
    return new BalancedLayer(m, n, rank, s, bp, ap);
  }

  /** @throws IllegalArgumentException if the settings quantize unlike the ones measured with */
  void requireMeasuredWith(BudgetSettings settings) {
    if (settings.levels() != levels || settings.groupSize() != groupSize) {
      throw new IllegalArgumentException(this + ": measured with " + levels + " levels, group "
          + groupSize + "; cannot be encoded with " + settings.levels() + ", group "
          + settings.groupSize());
    }
  }

  @Override
  public String toString() {
    return adapter() + ":" + module() + " (" + m + " x " + n + ", rank " + rank + ")";
  }
}
