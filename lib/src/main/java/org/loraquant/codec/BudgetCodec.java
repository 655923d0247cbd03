package org.loraquant.codec;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import org.loraquant.linalg.LinearAlgebra;

/**
 * The budget mode of the codec (docs/ALGORITHM.md, "Budget mode"; issue 18): per layer the thin
 * SVD and balanced factors as in the paper mode, a {@link RateDistortionTable} of every component
 * (measured as far as the allocation needs it, {@link LazyRateDistortion}), widths chosen by
 * {@link LazyAllocation} under the budget of the scope, quantization with the
 * chosen {@link LevelFamily}, and a {@link LeastSquaresRefit}.
 *
 * <p>Deterministic: the same factors, settings and LAPACK backend give the same result. In scope
 * {@code adapter} the tables of all layers are needed before any layer can be encoded; the
 * decompositions are held up to {@link #HELD_FACTOR_BYTES} and computed again past that (same
 * input, same result), so memory stays bounded.
 */
public final class BudgetCodec {
  /**
   * In scope {@code adapter}, the balanced factors of the first layers are held, up to this many
   * bytes, instead of being decomposed again for the allocation and the encoding (a few SVDs per
   * layer otherwise; the factors take about twice the input's own float arrays).
   */
  static final long HELD_FACTOR_BYTES = 256L << 20;
  /**
   * The codes the rate-distortion tables measured, up to this many bytes over the layers of one
   * call, are kept so that encoding at a measured width (every chosen width is one) decodes them
   * instead of quantizing the component again; past it the component is quantized again (the
   * same codes).
   */
  static final long HELD_CODE_BYTES = 64L << 20;

  private BudgetCodec() {}

  /**
   * Compresses the layers of one adapter under the settings' budget and scope; results in the
   * order of {@code layers}.
   *
   * @throws org.loraquant.errors.InvalidAdapterException if a factor holds NaN or infinity
   * @throws IllegalArgumentException if the budget cannot hold the smallest storable form
   *     (docs/ALGORITHM.md, "Budget mode")
   */
  public static List<BudgetLayerResult> compress(List<LoraFactors> layers,
      BudgetSettings settings, LinearAlgebra linalg) {
    List<BudgetLayerResult> results = new ArrayList<>(layers.size());
    // A layer's balanced factors go back to this thread's spares once it is encoded (or, in
    // scope adapter, once its table is made if it is not held), for the next layer of its shape.
    CodecWorkspace spares = CodecWorkspace.forCurrentThread();
    if (settings.scope() == BudgetScope.LAYER) {
      for (int l = 0; l < layers.size(); l++) {
        LoraFactors f = layers.get(l);
        long started = System.nanoTime();
        BalancedLayer layer = BalancedLayer.of(f, linalg, spares);
        LazyRateDistortion table = new LazyRateDistortion(layer, settings.levels(),
            settings.groupSize(), LazyAllocation.INITIAL_WIDTH,
            new LazyRateDistortion.CodeAllowance(HELD_CODE_BYTES));
        int[] widths = allocate(List.of(table), settings.budgetBitsFor(params(f)), same -> layer,
            "layer " + l + " (" + f.m() + " x " + f.n() + ", rank " + f.r() + ")")[0];
        results.add(encode(layer, table.relaxed(), table, widths, settings, linalg, started));
        layer.release(spares);
      }
      return results;
    }
    List<LazyRateDistortion> tables = new ArrayList<>(layers.size());
    long[] measureNanos = new long[layers.size()];
    long params = 0;
    BalancedLayer[] held = new BalancedLayer[layers.size()];
    IntFunction<BalancedLayer> layerOf = l -> held[l] != null ? held[l]
        : BalancedLayer.of(layers.get(l), linalg);
    long heldBytes = 0;
    LazyRateDistortion.CodeAllowance heldCodes =
        new LazyRateDistortion.CodeAllowance(HELD_CODE_BYTES);
    for (int l = 0; l < layers.size(); l++) {
      long started = System.nanoTime();
      BalancedLayer layer = BalancedLayer.of(layers.get(l), linalg, spares);
      long bytes = 8L * (layer.bp().length + layer.ap().length);
      if (heldBytes + bytes <= HELD_FACTOR_BYTES) {
        held[l] = layer;
        heldBytes += bytes;
      }
      tables.add(new LazyRateDistortion(layer, settings.levels(), settings.groupSize(),
          LazyAllocation.INITIAL_WIDTH, heldCodes));
      if (held[l] == null) {
        layer.release(spares);
      }
      params += params(layers.get(l));
      measureNanos[l] = System.nanoTime() - started;
    }
    int[][] widths = allocate(tables, settings.budgetBitsFor(params), layerOf,
        "adapter of " + layers.size() + " layers");
    for (int l = 0; l < layers.size(); l++) {
      long started = System.nanoTime() - measureNanos[l];
      BalancedLayer layer = layerOf.apply(l);
      held[l] = null;
      results.add(encode(layer, tables.get(l).relaxed(), tables.get(l), widths[l], settings,
          linalg, started));
      layer.release(spares);
      tables.set(l, null);
    }
    return results;
  }

  /**
   * The smallest budget, in bits per parameter, that scope {@code adapter} accepts for these
   * layers: every layer's fixed side information, its width map and its first component at the
   * guard width (2 bits), nothing else. It depends on the shapes only.
   */
  public static double smallestBudget(List<LoraFactors> layers, LevelFamily levels,
      int groupSize) {
    long bits = 0;
    long params = 0;
    for (LoraFactors f : layers) {
      bits += smallestStorableBits(f.m(), f.n(), f.r(), levels, groupSize);
      params += (long) f.r() * (f.m() + f.n());
    }
    return params == 0 ? 0 : (double) bits / params;
  }

  /**
   * The fewest bits an m x n layer of rank r can be stored in (the budget mode's count, as the
   * allocators count it): its fixed side information, its width map and its first component at
   * the guard width (2 bits). It depends on the shape only, so a job can check a budget against
   * it from the adapters' headers, before reading any layer.
   */
  public static long smallestStorableBits(int m, int n, int r, LevelFamily levels,
      int groupSize) {
    int k = Math.min(r, Math.min(m, n));
    long bits = RateDistortionTable.LAYER_FIXED_BITS;
    if (k > 0) {
      bits += (long) k * RateDistortionTable.WIDTH_MAP_BITS
          + levels.vectorBits(RateDistortionTable.GUARD_WIDTH, m, groupSize)
          + levels.vectorBits(RateDistortionTable.GUARD_WIDTH, n, groupSize);
    }
    return bits;
  }

  /**
   * One layer's rate-distortion table (the first half of {@link #compress}): what a fleet budget
   * ({@link FleetAllocator}) allocates over before any layer is encoded.
   *
   * @throws IllegalArgumentException if a factor holds NaN or infinity
   */
  public static RateDistortionTable measure(LoraFactors layer, BudgetSettings settings,
      LinearAlgebra linalg) {
    return RateDistortionTable.measure(BalancedLayer.of(layer, linalg), settings.levels(),
        settings.groupSize());
  }

  /**
   * Encodes one layer at the given widths (the second half of {@link #compress}): the same
   * factors, table, widths and settings give what {@link #compress} gives for that layer.
   *
   * @param table the layer's {@link #measure}
   * @param widths one per component of the table, each within its allowed widths
   */
  public static BudgetLayerResult encode(LoraFactors layer, RateDistortionTable table,
      int[] widths, BudgetSettings settings, LinearAlgebra linalg) {
    if (widths.length != table.components()) {
      throw new IllegalArgumentException(widths.length + " widths for " + table.components()
          + " components");
    }
    long started = System.nanoTime();
    return encode(BalancedLayer.of(layer, linalg), table, null, widths, settings, linalg,
        started);
  }

  /**
   * One layer's rate-distortion table and factors, kept together (fleet scope: docs/ALGORITHM.md,
   * "Fleet budget"): {@link MeasuredLayer#fleetLayer} is what the allocator needs, and
   * {@link #encode(MeasuredLayer, int[], BudgetSettings, LinearAlgebra)} encodes from it without
   * reading the layer again. The table equals {@link #measure}'s and {@link FleetLayer#measure}'s.
   *
   * @throws org.loraquant.errors.InvalidAdapterException if a factor holds NaN or infinity
   */
  public static MeasuredLayer measureForEncoding(String adapter, String module,
      LoraFactors layer, BudgetSettings settings, LinearAlgebra linalg) {
    return MeasuredLayer.measure(adapter, module, layer, settings, linalg);
  }

  /**
   * Encodes a measured layer at the given widths: byte for byte what
   * {@link #encode(LoraFactors, RateDistortionTable, int[], BudgetSettings, LinearAlgebra)} gives
   * from the layer's factors (it decomposes the held factors again, the same thin SVD as when
   * measuring), with no read. The stats' time counts the measuring ({@link MeasuredLayer#nanos})
   * and the encoding.
   *
   * @param widths one per component of the layer, each within its allowed widths
   * @throws IllegalArgumentException if the widths do not fit the layer, or the settings' levels
   *     or group size are not those it was measured with
   */
  public static BudgetLayerResult encode(MeasuredLayer layer, int[] widths,
      BudgetSettings settings, LinearAlgebra linalg) {
    long started = System.nanoTime() - layer.nanos();
    layer.requireMeasuredWith(settings);
    RateDistortionTable table = layer.fleetLayer().table();
    if (widths.length != table.components()) {
      throw new IllegalArgumentException(layer + ": " + widths.length + " widths for "
          + table.components() + " components");
    }
    return encode(layer.balanced(linalg), table, null, widths, settings, linalg, started);
  }

  private static long params(LoraFactors f) {
    return (long) f.r() * (f.m() + f.n());
  }

  /** {@link LazyAllocation#allocate}, its refusal prefixed with what the budget was for. */
  private static int[][] allocate(List<LazyRateDistortion> tables, long budgetBits,
      IntFunction<BalancedLayer> layerOf, String scope) {
    try {
      return LazyAllocation.allocate(tables, budgetBits, layerOf);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(scope + ": " + e.getMessage(), e);
    }
  }

  /**
   * Quantizes the layer at the given widths and refits it; components whose codes {@code measured}
   * kept at their width (it may be null) are decoded from them instead, the same values.
   */
  private static BudgetLayerResult encode(BalancedLayer layer, RateDistortionTable table,
      LazyRateDistortion measured, int[] widths, BudgetSettings settings, LinearAlgebra linalg,
      long started) {
    int m = layer.m();
    int n = layer.n();
    int k = layer.k();
    // The reconstruction is scratch (the result keeps the codes only): this thread's workspace,
    // the kept components' columns side by side (column c is the c-th kept component). A dropped
    // component is zero and needs no column (KeptErrorModel).
    int[] kept = LeastSquaresRefit.keptComponents(widths);
    int p = kept.length;
    CodecWorkspace work = CodecWorkspace.forCurrentThread();
    double[] bh = work.bh(m, p);
    double[] ah = work.ah(n, p);
    VectorCode[] bCodes = new VectorCode[k];
    VectorCode[] aCodes = new VectorCode[k];
    for (int c = 0; c < p; c++) {
      int i = kept[c];
      VectorCode keptB = measured == null ? null : measured.codes(i, widths[i], 0);
      VectorCode keptA = measured == null ? null : measured.codes(i, widths[i], 1);
      if (keptB != null && keptA != null) {
        bCodes[i] = keptB;
        aCodes[i] = keptA;
        VectorQuantizer.decode(settings.levels(), keptB, settings.groupSize(), m, bh, c * m);
        VectorQuantizer.decode(settings.levels(), keptA, settings.groupSize(), n, ah, c * n);
      } else {
        bCodes[i] = VectorQuantizer.quantize(settings.levels(), widths[i], settings.groupSize(),
            layer.bp(), i * m, m, bh, c * m);
        aCodes[i] = VectorQuantizer.quantize(settings.levels(), widths[i], settings.groupSize(),
            layer.ap(), i * n, n, ah, c * n);
      }
    }
    KeptErrorModel model = KeptErrorModel.of(linalg.blas(), layer, p, bh, ah);
    double[] error = {model.squaredError()};
    int refitSteps = LeastSquaresRefit.refit(linalg.blas(), layer, widths, settings.levels(),
        settings.groupSize(), settings.refit(), bh, ah, bCodes, aCodes, model, error);
    BudgetLayer stored = new BudgetLayer(m, n, layer.rank(), settings.levels(),
        settings.groupSize(), widths.clone(), bCodes, aCodes);
    BudgetLayerStats stats = new BudgetLayerStats(m, n, layer.rank(), widths.clone(),
        table.params(), table.storedBits(widths), error[0], layer.energy(), refitSteps,
        System.nanoTime() - started);
    return new BudgetLayerResult(stored, stats);
  }
}
