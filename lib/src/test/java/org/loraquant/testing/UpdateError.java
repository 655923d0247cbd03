package org.loraquant.testing;

import org.loraquant.codec.LoraFactors;

/**
 * Test-only, independent of the codec: ||B A - B^ A^||_F and ||B A||_F for two PEFT pairs of the
 * same shape, in double. Small layers use dense m x n products; large ones the Gram form
 * ||X Y||^2 = sum_ij (X^T X)_ij (Y Y^T)_ij with X = [B, -B^], Y = [A; A^], which never forms the
 * m x n matrices.
 */
public record UpdateError(double error, double norm, double approxNorm) {
  /** Layers up to this many m x n entries are checked with dense products. */
  static final long DENSE_LIMIT = 1L << 20;

  /** 0 when B A = 0 (the caller checks {@link #approxNorm} then). */
  public double relative() {
    return norm == 0 ? 0 : error / norm;
  }

  public static UpdateError of(LoraFactors exact, LoraFactors approx) {
    if (exact.m() != approx.m() || exact.n() != approx.n()) {
      throw new IllegalArgumentException("layers differ in shape");
    }
    return (long) exact.m() * exact.n() <= DENSE_LIMIT ? dense(exact, approx) : gram(exact, approx);
  }

  static UpdateError dense(LoraFactors exact, LoraFactors approx) {
    double[] p = product(exact);
    double[] q = product(approx);
    double err = 0;
    double norm = 0;
    double approxNorm = 0;
    for (int i = 0; i < p.length; i++) {
      err += (p[i] - q[i]) * (p[i] - q[i]);
      norm += p[i] * p[i];
      approxNorm += q[i] * q[i];
    }
    return new UpdateError(Math.sqrt(err), Math.sqrt(norm), Math.sqrt(approxNorm));
  }

  static UpdateError gram(LoraFactors exact, LoraFactors approx) {
    int r = exact.r();
    int w = r + approx.r();
    int m = exact.m();
    int n = exact.n();
    double[][] x = new double[w][m]; // columns of X = [B, -B^]
    double[][] y = new double[w][n]; // rows of Y = [A; A^]
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        x[j][i] = exact.b()[i * r + j];
      }
      for (int j = 0; j < approx.r(); j++) {
        x[r + j][i] = -approx.b()[i * approx.r() + j];
      }
    }
    for (int j = 0; j < r; j++) {
      for (int l = 0; l < n; l++) {
        y[j][l] = exact.a()[j * n + l];
      }
    }
    for (int j = 0; j < approx.r(); j++) {
      for (int l = 0; l < n; l++) {
        y[r + j][l] = approx.a()[j * n + l];
      }
    }
    double err = 0;
    double norm = 0;
    double approxNorm = 0;
    for (int i = 0; i < w; i++) {
      for (int j = 0; j < w; j++) {
        double term = dot(x[i], x[j]) * dot(y[i], y[j]);
        err += term;
        if (i < r && j < r) {
          norm += term;
        } else if (i >= r && j >= r) {
          approxNorm += term;
        }
      }
    }
    return new UpdateError(Math.sqrt(Math.max(0, err)), Math.sqrt(Math.max(0, norm)), Math.sqrt(Math.max(0, approxNorm)));
  }

  private static double[] product(LoraFactors f) {
    int m = f.m();
    int n = f.n();
    int r = f.r();
    double[] out = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        double bij = f.b()[i * r + j];
        for (int l = 0; l < n; l++) {
          out[i * n + l] += bij * f.a()[j * n + l];
        }
      }
    }
    return out;
  }

  private static double dot(double[] p, double[] q) {
    double s = 0;
    for (int i = 0; i < p.length; i++) {
      s += p[i] * q[i];
    }
    return s;
  }
}
