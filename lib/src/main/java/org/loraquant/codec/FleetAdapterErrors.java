package org.loraquant.codec;

import java.io.Serializable;
import java.math.BigDecimal;
import java.util.Map;
import java.util.TreeMap;

/**
 * Each adapter's table error under an allocation, as an aggregation (docs/ALGORITHM.md, "Fleet
 * budget", weight {@code adapter}): {@link #of} maps one layer, {@link #plus} merges two. The sums
 * are exact (each double added as a {@link BigDecimal}), so any split of the layers gives the same
 * figures bit for bit, and so the same decisions.
 */
public final class FleetAdapterErrors implements Serializable {
  private static final long serialVersionUID = 1L;

  /** adapter -> sum of its layers' unweighted errors D_i(w_i). */
  private final TreeMap<String, BigDecimal> error;

  private FleetAdapterErrors(TreeMap<String, BigDecimal> error) {
    this.error = error;
  }

  public static FleetAdapterErrors empty() {
    return new FleetAdapterErrors(new TreeMap<>());
  }

  /** One layer's error with its widths in {@code current}. */
  public static FleetAdapterErrors of(FleetLayer layer, FleetAllocation current) {
    TreeMap<String, BigDecimal> e = new TreeMap<>();
    e.put(layer.adapter(), new BigDecimal(layer.error(current.widths(layer))));
    return new FleetAdapterErrors(e);
  }

  /** The sums over both parts (neither is changed). */
  public FleetAdapterErrors plus(FleetAdapterErrors other) {
    TreeMap<String, BigDecimal> e = new TreeMap<>(error);
    other.error.forEach((a, v) -> e.merge(a, v, BigDecimal::add));
    return new FleetAdapterErrors(e);
  }

  /** Adapter -> its error, rounded once to a double. */
  public Map<String, Double> byAdapter() {
    Map<String, Double> out = new TreeMap<>();
    error.forEach((a, v) -> out.put(a, v.doubleValue()));
    return out;
  }
}
