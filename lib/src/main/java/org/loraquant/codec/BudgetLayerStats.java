package org.loraquant.codec;

import java.io.Serializable;

/**
 * What the budget mode did to one layer.
 *
 * @param widths the width of each of the k components, 0 for a dropped one (not copied)
 * @param params r (m + n), the parameters of the input factors
 * @param storedBits every bit the layer stores in format v2: fixed side information, width map,
 *     codes, scales and (uniform family) zero points
 * @param squaredError ||B A - B^ A^||_F^2, measured after the refit
 * @param energy ||B A||_F^2
 * @param refitSteps refit steps kept (each lowered the layer's error)
 * @param nanos wall time spent on the layer (SVDs, tables, encoding, refit; not the allocation)
 */
public record BudgetLayerStats(int m, int n, int rank, int[] widths, long params,
    long storedBits, double squaredError, double energy, int refitSteps, long nanos)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public int k() {
    return widths.length;
  }

  public int kept() {
    int kept = 0;
    for (int w : widths) {
      kept += w > 0 ? 1 : 0;
    }
    return kept;
  }

  /** ||B A - B^ A^||_F / ||B A||_F; 0 for an all-zero update. */
  public double relError() {
    return energy == 0 ? 0 : Math.sqrt(squaredError / energy);
  }

  public boolean zeroUpdate() {
    return energy == 0;
  }

  public double effectiveBitsPerParam() {
    return params == 0 ? 0 : (double) storedBits / params;
  }
}
