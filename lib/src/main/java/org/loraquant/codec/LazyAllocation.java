package org.loraquant.codec;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * {@link BitAllocator#allocate} over tables measured on demand ({@link LazyRateDistortion};
 * docs/ALGORITHM.md, "Measuring only the widths that can matter"):
 *
 * <ol>
 *   <li>A first allocation over the predicted tables says roughly where the bits go; every
 *       component is measured up to its share (one width past it when there are several layers).
 *   <li>Then, until it holds: allocate over the relaxed tables (0, a lower bound, where an entry
 *       is not measured); if every chosen width is measured, that allocation is the answer; else
 *       the chosen unmeasured widths (and, with several layers, one past them) are measured and
 *       the round repeats.
 * </ol>
 *
 * When the exact search ({@link ParetoSearch}) decides, the answer has the least error the
 * complete tables allow: no allocation's relaxed error is above its true error, the answer's
 * relaxed error is its true error (all its entries are measured) and it is the least relaxed
 * error. Its total error therefore equals that of the allocation over the complete tables (the
 * two can differ only between allocations of equal error and cost). The three passes of the
 * large case are heuristics: there the unmeasured entries can steer them to a different
 * allocation, of a total error within what the passes leave anyway (docs/BENCHMARKS.md,
 * docs/FIDELITY.md).
 */
final class LazyAllocation {
  /**
   * Widths every component is measured at before the first allocation: 0 alone (its s_i^2, no
   * quantization; the first component up to the guard's width). A component the allocation
   * drops is then never quantized unless an allocation gives it bits on the way: at 4096 x 4096
   * rank 16 and 1.4 bits, 6 of the 9 dropped components, each a sign code of both factors saved
   * (docs/BENCHMARKS.md, issue 18, "Sixth pass"). It was 1; the real adapters' allocations and
   * stored layers under seven budget settings came out the same either way.
   */
  static final int INITIAL_WIDTH = 0;

  private LazyAllocation() {}

  /**
   * Widths of every component of every layer within {@code budgetBits}; {@code layerOf} gives
   * layer l's decomposition again when its table must grow (it is called at most once per layer
   * per round). The tables end measured at least at every chosen width.
   */
  static int[][] allocate(List<LazyRateDistortion> tables, long budgetBits,
      IntFunction<BalancedLayer> layerOf) {
    List<RateDistortionTable> predicted = new ArrayList<>(tables.size());
    for (LazyRateDistortion t : tables) {
      predicted.add(t.predicted());
    }
    int past = tables.size() > 1 ? 1 : 0;
    measureUpTo(tables, BitAllocator.allocate(predicted, budgetBits), layerOf, true, past);
    while (true) {
      List<RateDistortionTable> relaxed = new ArrayList<>(tables.size());
      for (LazyRateDistortion t : tables) {
        relaxed.add(t.relaxed());
      }
      int[][] widths = BitAllocator.allocate(relaxed, budgetBits);
      if (!measureUpTo(tables, widths, layerOf, false, past)) {
        return widths;
      }
    }
  }

  /**
   * Measures components up to {@code past} widths past their chosen width: every component if
   * {@code everyComponent}, else those whose chosen width is unmeasured. Returns whether a chosen
   * width was unmeasured. One layer measures no width past its choice: the round after finds
   * whether the next width can matter, and on the benchmark layers a quarter of the entries
   * measured one past were never needed. Several layers measure one past, as before: there each
   * round is an allocation over all of them, and sparing entries took up to three times the rounds
   * (bert-base, 73 layers: 19 rounds instead of 7; docs/BENCHMARKS.md, "Third pass").
   */
  private static boolean measureUpTo(List<LazyRateDistortion> tables, int[][] widths,
      IntFunction<BalancedLayer> layerOf, boolean everyComponent, int past) {
    boolean chosenUnmeasured = false;
    for (int l = 0; l < tables.size(); l++) {
      LazyRateDistortion t = tables.get(l);
      BalancedLayer layer = null;
      for (int i = 0; i < t.components(); i++) {
        int w = widths[l][i];
        boolean unmeasured = w > t.known(i);
        chosenUnmeasured |= unmeasured;
        if ((everyComponent || unmeasured) && Math.min(w + past, t.maxWidth(i)) > t.known(i)) {
          if (layer == null) {
            layer = layerOf.apply(l);
          }
          t.extend(layer, i, w + past);
        }
      }
    }
    return chosenUnmeasured;
  }
}
