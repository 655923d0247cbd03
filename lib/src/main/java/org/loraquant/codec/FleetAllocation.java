package org.loraquant.codec;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The widths the fleet allocator chose for every layer of the fleet (docs/ALGORITHM.md, "Fleet
 * budget"), in a form small enough to broadcast: the multiplier lambda (each component's width at
 * lambda, {@link FleetLayer#widthsAt}), the factor on each adapter's weight that weight {@code
 * adapter}'s cap raised (none otherwise), and the few width changes the leftover pass made on top
 * of it, by layer and component. Weight {@code adapter} also says how its cap's rounds ended
 * ({@link #capRounds}, {@link #overCap}).
 */
public final class FleetAllocation implements Serializable {
  private static final long serialVersionUID = 2L;

  private final double lambda;
  private final long budgetBits;
  private final long spentBits;
  /** adapter -> factor (above 1) on its layers' weights; adapters not listed have factor 1. */
  private final Map<String, Double> factors;
  /** adapter NUL module -> component -> width, for the components the leftover pass changed. */
  private final Map<String, Map<Integer, Integer>> changed;
  /** Weight adapter: the rounds that raised factors; 0 otherwise. */
  private final int capRounds;
  /**
   * Weight adapter: adapter -> its error over its cap, for the adapters still above their cap
   * when the rounds stopped at their limit; empty when every cap was met.
   */
  private final Map<String, Double> overCap;

  FleetAllocation(double lambda, long budgetBits, long spentBits,
      Map<String, Map<Integer, Integer>> changed) {
    this(lambda, Map.of(), budgetBits, spentBits, changed);
  }

  FleetAllocation(double lambda, Map<String, Double> factors, long budgetBits, long spentBits,
      Map<String, Map<Integer, Integer>> changed) {
    this(lambda, factors, budgetBits, spentBits, changed, 0, Map.of());
  }

  private FleetAllocation(double lambda, Map<String, Double> factors, long budgetBits,
      long spentBits, Map<String, Map<Integer, Integer>> changed, int capRounds,
      Map<String, Double> overCap) {
    this.lambda = lambda;
    this.factors = new TreeMap<>(factors);
    this.budgetBits = budgetBits;
    this.spentBits = spentBits;
    Map<String, Map<Integer, Integer>> copy = new HashMap<>();
    changed.forEach((k, v) -> copy.put(k, new TreeMap<>(v)));
    this.changed = copy;
    this.capRounds = capRounds;
    this.overCap = new TreeMap<>(overCap);
  }

  /** The factor on the weights of {@code adapter}'s layers (1 unless the cap raised it). */
  public double factor(String adapter) {
    return factor(factors, adapter);
  }

  static double factor(Map<String, Double> factors, String adapter) {
    Double f = factors.get(adapter);
    return f == null ? 1 : f;
  }

  /** The raised factors, by adapter. */
  public Map<String, Double> factors() {
    return java.util.Collections.unmodifiableMap(factors);
  }

  /** The weight the allocation put on the layer's errors: its own times its adapter's factor. */
  double weightOf(FleetLayer layer) {
    return layer.weight() * factor(layer.adapter());
  }

  /** The multiplier on the bits: the weighted error one more bit had to cut to be spent. */
  public double lambda() {
    return lambda;
  }

  /** The bits the allocation was allowed. */
  public long budgetBits() {
    return budgetBits;
  }

  /** The bits the chosen widths store, side information included; never above the budget. */
  public long spentBits() {
    return spentBits;
  }

  /**
   * Weight {@code adapter}: how many times the cap's rounds raised factors before they stopped,
   * at most {@link FleetAllocator#MAX_CAP_ROUNDS}; 0 for weight {@code energy}.
   */
  public int capRounds() {
    return capRounds;
  }

  /**
   * Weight {@code adapter}: the adapters above their cap ({@link FleetAllocator#ADAPTER_CAP}
   * times their own adapter-scope error) when the rounds stopped at their limit, each with its
   * error over its cap (above 1); empty when every adapter is within its cap (always for weight
   * {@code energy}). Not empty means the cap was not met and the allocation is the last round's.
   */
  public Map<String, Double> overCap() {
    return java.util.Collections.unmodifiableMap(overCap);
  }

  /** A copy saying how the cap's rounds ended. */
  FleetAllocation afterCapRounds(int rounds, Map<String, Double> stillOverCap) {
    return new FleetAllocation(lambda, factors, budgetBits, spentBits, changed, rounds,
        stillOverCap);
  }

  /** Width changes the leftover pass made on top of lambda's choice. */
  public int changes() {
    int count = 0;
    for (Map<Integer, Integer> v : changed.values()) {
      count += v.size();
    }
    return count;
  }

  /** The width of every component of this layer of the fleet. */
  public int[] widths(FleetLayer layer) {
    int[] widths = layer.widthsAt(lambda / factor(layer.adapter()));
    Map<Integer, Integer> overrides = changed.get(layer.key());
    if (overrides != null) {
      overrides.forEach((i, w) -> widths[i] = w);
    }
    return widths;
  }

  /** A copy with more width changes (layer key -> component -> width) and the bits they spend. */
  FleetAllocation with(Map<String, Map<Integer, Integer>> more, long spent) {
    Map<String, Map<Integer, Integer>> all = new HashMap<>(changed);
    more.forEach((k, v) -> {
      Map<Integer, Integer> merged = new TreeMap<>(all.getOrDefault(k, Map.of()));
      merged.putAll(v);
      all.put(k, merged);
    });
    return new FleetAllocation(lambda, factors, budgetBits, spent, all, capRounds, overCap);
  }

  @Override
  public String toString() {
    return "lambda " + lambda + ", " + factors.size() + " adapters' weights raised, " + spentBits
        + " of " + budgetBits + " bits, " + changes()
        + " changes after lambda"
        + (overCap.isEmpty() ? "" : ", " + overCap.size() + " adapters above their cap after "
            + capRounds + " rounds");
  }
}
