package org.loraquant.spark;

import java.io.Serializable;
import java.util.List;
import org.loraquant.compress.LayerReport;

/**
 * One compressed adapter's figures, summed over its layers: what an {@code adapters} row reports
 * about an output (docs/STATS.md).
 *
 * @param worstLayer module with the largest rel_error; null when there are no layers
 * @param tensorBits sum of the layers' effective bits: their records in the model file (codes,
 *     scales, zero points, record headers), what grows with the adapter's parameters
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
  private static final long serialVersionUID = 1L;

  public static AdapterTotals of(List<LayerReport> reports) {
    long params = 0;
    long payload = 0;
    double errorTimesParams = 0;
    double seconds = 0;
    long tensorBits = 0;
    String worst = null;
    double worstError = 0;
    for (LayerReport r : reports) {
      params += r.stats().params();
      payload += r.stats().payloadBits();
      errorTimesParams += r.stats().relError() * r.stats().params();
      seconds += r.seconds();
      tensorBits += r.stats().effectiveBits();
      if (worst == null || r.stats().relError() > worstError) {
        worst = r.module();
        worstError = r.stats().relError();
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
