package org.loraquant.codec;

/**
 * How the split point h between the high tier and the 1-bit tier follows from the energy ratio
 * rho (docs/ALGORITHM.md step 3). With e_i = s_i^2 and F(j) = (e_1 + ... + e_j) / sum(e):
 */
public enum SplitRule {
  /** h = smallest j with F(j) >= rho (the natural reading). */
  PREFIX,
  /**
   * h = (smallest j with F(j) >= rho) - 1, but at least 1: the rule the published numbers were
   * produced with. When k >= 2 at least one component stays 1-bit.
   */
  REFERENCE;

  /**
   * The split point for singular values {@code s} (descending). An all-zero spectrum has no energy
   * to split; it is treated as F(j) = 1 for every j >= 1, so both rules give h = 1 (h = 0 when k = 0).
   */
  public int splitPoint(double[] s, double rho) {
    int k = s.length;
    if (k == 0) {
      return 0;
    }
    double total = 0;
    for (double v : s) {
      total += v * v;
    }
    int first = k;
    if (total == 0) {
      first = 1;
    } else {
      double cumulative = 0;
      for (int j = 0; j < k; j++) {
        cumulative += s[j] * s[j];
        // Compare sums rather than ratios: the last prefix then equals the total exactly.
        if (cumulative >= rho * total) {
          first = j + 1;
          break;
        }
      }
    }
    if (this == PREFIX) {
      return first;
    }
    // first <= k, so h <= k - 1 whenever k >= 2.
    return Math.max(1, first - 1);
  }
}
