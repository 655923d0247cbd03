package org.loraquant.codec;

/**
 * Test-side generator of the Lloyd-Max level tables in {@link LloydMaxLevels}: the quantizer of a
 * unit Gaussian with 2^b levels that minimises the mean squared error. It satisfies the two
 * Lloyd-Max conditions: every threshold is the midpoint of its two neighbouring levels, and every
 * level is the centroid E[X | X in its cell] of its cell.
 *
 * <p>The levels are symmetric about 0, so only the 2^(b-1) positive ones are unknowns; the cell
 * of the first one starts at threshold 0 and the last one's runs to infinity. A few hundred plain
 * Lloyd iterations give a starting point and Newton's method on the centroid conditions
 * (tridiagonal Jacobian, derivatives in closed form) converges to double precision, which plain
 * Lloyd iterations need hundreds of thousands of steps for at 8 bits.
 */
final class LloydMaxDesign {
  private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

  private LloydMaxDesign() {}

  /** The 2^(bits-1) positive levels, ascending, converged to about 1e-11 (far below float precision). */
  static double[] positiveLevels(int bits) {
    if (bits < 2 || bits > 8) {
      throw new IllegalArgumentException("bits must be 2..8, got " + bits);
    }
    int count = 1 << (bits - 1);
    double[] y = new double[count];
    // Start: the centroids of equal-probability cells of the half-normal.
    for (int j = 0; j < count; j++) {
      y[j] = inverseUpperTail(0.5 * (1 - (j + 0.5) / count));
    }
    for (int iter = 0; iter < 300; iter++) {
      double[] next = new double[count];
      for (int j = 0; j < count; j++) {
        next[j] = centroid(lower(y, j), upper(y, j));
      }
      y = next;
    }
    for (int iter = 0; iter < 100; iter++) {
      if (newtonStep(y) < 1e-9) {
        // Quadratic convergence: two more steps reach the rounding floor (about 1e-11 at 8
        // bits, where the cells' probabilities are differences of nearby tail values).
        newtonStep(y);
        newtonStep(y);
        return y;
      }
    }
    throw new IllegalStateException("Lloyd-Max design did not converge at " + bits + " bits");
  }

  /** Lower threshold of cell j: 0 for the first, the midpoint with the level below otherwise. */
  static double lower(double[] y, int j) {
    return j == 0 ? 0 : 0.5 * (y[j - 1] + y[j]);
  }

  /** Upper threshold of cell j: infinity for the last. */
  static double upper(double[] y, int j) {
    return j == y.length - 1 ? Double.POSITIVE_INFINITY : 0.5 * (y[j] + y[j + 1]);
  }

  /** E[X | a < X < b] for a unit Gaussian, 0 <= a < b. */
  static double centroid(double a, double b) {
    return (density(a) - density(b)) / (upperTail(a) - upperTail(b));
  }

  /** One Newton step on F_j(y) = y_j - centroid(cell j) in place; returns the largest change. */
  private static double newtonStep(double[] y) {
    int n = y.length;
    double[] sub = new double[n];
    double[] diag = new double[n];
    double[] sup = new double[n];
    double[] rhs = new double[n];
    for (int j = 0; j < n; j++) {
      double a = lower(y, j);
      double b = upper(y, j);
      double mass = upperTail(a) - upperTail(b);
      double c = (density(a) - density(b)) / mass;
      // dc/da = phi(a)(c - a)/P, dc/db = phi(b)(b - c)/P; each threshold moves by half of each
      // neighbouring level's move.
      double dcda = j == 0 ? 0 : density(a) * (c - a) / mass;
      double dcdb = j == n - 1 ? 0 : density(b) * (b - c) / mass;
      sub[j] = -0.5 * dcda;
      sup[j] = -0.5 * dcdb;
      diag[j] = 1 - 0.5 * dcda - 0.5 * dcdb;
      rhs[j] = -(y[j] - c);
    }
    // Thomas algorithm.
    for (int j = 1; j < n; j++) {
      double w = sub[j] / diag[j - 1];
      diag[j] -= w * sup[j - 1];
      rhs[j] -= w * rhs[j - 1];
    }
    double[] dy = new double[n];
    dy[n - 1] = rhs[n - 1] / diag[n - 1];
    for (int j = n - 2; j >= 0; j--) {
      dy[j] = (rhs[j] - sup[j] * dy[j + 1]) / diag[j];
    }
    double largest = 0;
    for (int j = 0; j < n; j++) {
      y[j] += dy[j];
      largest = Math.max(largest, Math.abs(dy[j]));
    }
    return largest;
  }

  static double density(double x) {
    return Double.isInfinite(x) ? 0 : INV_SQRT_2PI * Math.exp(-0.5 * x * x);
  }

  /** P(X > x) for x >= 0, to about 1e-15 relative. */
  static double upperTail(double x) {
    if (Double.isInfinite(x)) {
      return 0;
    }
    return 0.5 * erfc(x / Math.sqrt(2));
  }

  /**
   * erfc(u) for u >= 0: below 2 as 1 - erf(u) with erf from its series of positive terms,
   * erf(u) = 2/sqrt(pi) e^(-u^2) sum 2^n u^(2n+1) / (1 3 5 ... (2n+1)) (no cancellation); from 2 on
   * by its continued fraction (modified Lentz), which converges fast there.
   */
  static double erfc(double u) {
    if (u < 2) {
      double term = u;
      double sum = u;
      for (int n = 1; n < 200; n++) {
        term *= 2 * u * u / (2 * n + 1);
        sum += term;
        if (term < 1e-17 * sum) {
          break;
        }
      }
      return 1 - 2 / Math.sqrt(Math.PI) * Math.exp(-u * u) * sum;
    }
    // erfc(u) = e^(-u^2)/sqrt(pi) * 1/(u + (1/2)/(u + 1/(u + (3/2)/(u + 2/(u + ...))))).
    double tiny = 1e-300;
    double f = u;
    double c = u;
    double d = 0;
    for (int k = 1; k < 500; k++) {
      double a = 0.5 * k;
      d = u + a * d;
      d = Math.abs(d) < tiny ? tiny : d;
      c = u + a / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      double delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) {
        break;
      }
    }
    return Math.exp(-u * u) / Math.sqrt(Math.PI) / f;
  }

  /** x with P(X > x) = p, 0 < p <= 0.5, by bisection (a starting point only). */
  private static double inverseUpperTail(double p) {
    double lo = 0;
    double hi = 40;
    for (int i = 0; i < 200; i++) {
      double mid = 0.5 * (lo + hi);
      if (upperTail(mid) > p) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return 0.5 * (lo + hi);
  }
}
