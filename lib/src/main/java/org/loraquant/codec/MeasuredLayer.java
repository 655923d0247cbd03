package org.loraquant.codec;

import java.io.Serializable;
import org.loraquant.linalg.LinearAlgebra;

/**
 * One layer measured for a fleet budget (docs/ALGORITHM.md, "Fleet budget"): its table as the
 * allocator sees it ({@link #fleetLayer}) and what encoding it at the allocated widths needs, its
 * factors, so that {@link BudgetCodec#encode(MeasuredLayer, int[], BudgetSettings, LinearAlgebra)}
 * does not read the layer again.
 *
 * <p>Serializable so that an engine can persist it between the allocation's passes and the
 * encoding. It holds the factors, not their thin SVD: {@link CompactFactors}, 2 bytes a value for
 * bfloat16 or float16 input (4 for float32), plus k x 9 doubles of table; the balanced factors
 * in doubles would be 8 (m + n) k bytes, four times a bfloat16 layer, and writing and reading
 * them back cost a fleet more CPU and memory than decomposing the layer again
 * (docs/BENCHMARKS.md). The encoding decomposes the
 * factors again: the same floats, code and LAPACK backend give the same thin SVD bit for bit, so
 * it stores the bytes that encoding the decomposition made while measuring would
 * ({@code MeasuredLayerTest}). Read-only: encoding does not change it.
 */
public final class MeasuredLayer implements Serializable {
  private static final long serialVersionUID = 2L;

  private final FleetLayer table;
  private final LevelFamily levels;
  private final int groupSize;
  private final CompactFactors factors;
  private final long nanos;

  private MeasuredLayer(FleetLayer table, LevelFamily levels, int groupSize,
      CompactFactors factors, long nanos) {
    this.table = table;
    this.levels = levels;
    this.groupSize = groupSize;
    this.factors = factors;
    this.nanos = nanos;
  }

  /**
   * The layer's complete rate-distortion table, as {@link FleetLayer#measure} computes it, with
   * the factors it was measured from.
   *
   * @throws org.loraquant.errors.InvalidAdapterException if a factor holds NaN or infinity
   */
  static MeasuredLayer measure(String adapter, String module, LoraFactors factors,
      BudgetSettings settings, LinearAlgebra linalg) {
    long started = System.nanoTime();
    BalancedLayer layer = BalancedLayer.of(factors, linalg);
    FleetLayer table = FleetLayer.of(adapter, module, factors.m(), factors.n(),
        RateDistortionTable.measure(layer, settings.levels(), settings.groupSize()));
    return new MeasuredLayer(table, settings.levels(), settings.groupSize(),
        CompactFactors.of(factors), System.nanoTime() - started);
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
    return new MeasuredLayer(table, levels, groupSize, factors, value);
  }

  /**
   * Bytes of the held factors (the table is small beside them): 2 a value for bfloat16 or
   * float16 factors, 4 for float32 ones.
   */
  public long factorBytes() {
    return factors.bytes();
  }

  /** The layer's thin SVD as balanced factors, decomposed again from the held factors. */
  BalancedLayer balanced(LinearAlgebra linalg) {
    return BalancedLayer.of(factors.factors(), linalg);
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
    return adapter() + ":" + module() + " (" + factors.shape() + ")";
  }
}
