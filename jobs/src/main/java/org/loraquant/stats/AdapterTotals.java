package org.loraquant.stats;

import java.io.Serializable;
import java.util.List;

/**
 * One compressed adapter's figures, summed over its layers: what an {@code adapters} row reports
 * about an output (docs/STATS.md).
 *
 * @param worstLayer module with the largest rel_error; null when there are no layers
 * @param tensorBits sum of the layers' effective bits: what a budget bounds (the output
 *     folder's files and headers not counted)
 */
public record AdapterTotals(
    int layers,
    long params,
    long payloadBits,
    double weightedRelError,
    String worstLayer,
    double worstRelError,
    double layerSeconds,
    long tensorBits)
    implements Serializable {
  private static final long serialVersionUID = 2L;

  /** Totals without the layers' effective bits (0). */
  public AdapterTotals(
      int layers,
      long params,
      long payloadBits,
      double weightedRelError,
      String worstLayer,
      double worstRelError,
      double layerSeconds) {
    this(layers, params, payloadBits, weightedRelError, worstLayer, worstRelError, layerSeconds, 0);
  }

  public static AdapterTotals of(List<LayerFigures> reports) {
    long params = 0;
    long payload = 0;
    double errorTimesParams = 0;
    double seconds = 0;
    long tensorBits = 0;
    String worst = null;
    double worstError = 0;
    for (LayerFigures r : reports) {
      params += r.params();
      payload += r.payloadBits();
      tensorBits += r.effectiveBits();
      errorTimesParams += r.relError() * r.params();
      seconds += r.seconds();
      if (worst == null || r.relError() > worstError) {
        worst = r.module();
        worstError = r.relError();
      }
    }
    return new AdapterTotals(
        reports.size(),
        params,
        payload,
        params == 0 ? 0 : errorTimesParams / params,
        worst,
        worstError,
        seconds,
        tensorBits);
  }
}
