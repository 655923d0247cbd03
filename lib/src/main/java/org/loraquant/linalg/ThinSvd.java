package org.loraquant.linalg;

/**
 * A thin SVD M = U diag(s) V^T of an m x n matrix with k components, singular values descending
 * and non-negative. {@code u} is m x k and {@code v} is n x k, both column-major (column i of U is
 * {@code u[i * m .. (i + 1) * m)}), so each singular vector is contiguous.
 *
 * <p>Signs are canonical (see {@link #canonicalizeSigns}): the same matrix always gives the same
 * vectors, which the codec needs for byte-identical output.
 */
public record ThinSvd(int m, int n, int k, double[] u, double[] s, double[] v) {
  public ThinSvd {
    if (u.length != (long) m * k || v.length != (long) n * k || s.length != k) {
      throw new IllegalArgumentException("inconsistent SVD arrays for m=" + m + " n=" + n + " k=" + k);
    }
  }

  /**
   * The balanced split of a thin SVD: {@code bp} = U sqrt(S) (m x k) and {@code ap} = V sqrt(S)
   * (n x k), column-major, so B A = bp ap^T; signs canonical on bp as for U.
   */
  public record Balanced(int m, int n, int k, double[] s, double[] bp, double[] ap) {}

  /**
   * Resolves the sign ambiguity of each pair (u_i, v_i): flips both so that the entry of u_i with
   * the largest magnitude (the first one on ties) is positive. Modifies {@code u} and {@code v}.
   */
  public static void canonicalizeSigns(int m, int n, int k, double[] u, double[] v) {
    for (int i = 0; i < k; i++) {
      if (largestEntryIsNegative(u, i * m, m)) {
        negate(u, i * m, m);
        negate(v, i * n, n);
      }
    }
  }

  /**
   * Whether the entry of {@code x[from, from + len)} with the largest magnitude (the first one on
   * ties) is negative: the canonical sign rule. One pass with a branch that is rarely taken (a new
   * maximum turns up about log(len) times in a column of random-looking values), so it predicts
   * well: half the time of a branch-free max-reduction followed by a search for the maximum.
   * NaN entries are passed over (the codec's inputs are finite).
   */
  public static boolean largestEntryIsNegative(double[] x, int from, int len) {
    double largest = -1;
    int at = from;
    for (int p = from, end = from + len; p < end; p++) {
      double magnitude = Math.abs(x[p]);
      if (magnitude > largest) {
        largest = magnitude;
        at = p;
      }
    }
    return len > 0 && x[at] < 0;
  }

  /** Negates {@code x[from, from + len)}. */
  public static void negate(double[] x, int from, int len) {
    for (int p = from, end = from + len; p < end; p++) {
      x[p] = -x[p];
    }
  }
}
