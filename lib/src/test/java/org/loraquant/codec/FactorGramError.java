package org.loraquant.codec;

/**
 * Test-only: the relative error ||B A - B^ A^||_F / ||B A||_F computed as docs/ALGORITHM.md writes it,
 * from the original factors: X = [B, -B^], Y = [A; A^], ||X Y||^2 = trace((X^T X)(Y Y^T)). An
 * independent path from the codec's SVD-basis Grams.
 */
final class FactorGramError {
  private FactorGramError() {}

  static double relative(LoraFactors f, DecodedLayer d) {
    int m = f.m();
    int n = f.n();
    int r = f.r();
    int k = d.k();
    int w = r + k;
    double[][] x = new double[w][m]; // columns of X
    double[][] y = new double[w][n]; // rows of Y
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        x[j][i] = f.b()[i * r + j];
      }
      for (int j = 0; j < k; j++) {
        x[r + j][i] = -d.b()[i * k + j];
      }
    }
    for (int j = 0; j < r; j++) {
      for (int l = 0; l < n; l++) {
        y[j][l] = f.a()[j * n + l];
      }
    }
    for (int j = 0; j < k; j++) {
      for (int l = 0; l < n; l++) {
        y[r + j][l] = d.a()[j * n + l];
      }
    }
    double error = 0;
    double norm = 0;
    for (int i = 0; i < w; i++) {
      for (int j = 0; j < w; j++) {
        double term = dot(x[i], x[j]) * dot(y[i], y[j]);
        error += term;
        if (i < r && j < r) {
          norm += term;
        }
      }
    }
    return norm <= 0 ? 0 : Math.sqrt(Math.max(0, error) / norm);
  }

  private static double dot(double[] p, double[] q) {
    double s = 0;
    for (int i = 0; i < p.length; i++) {
      s += p[i] * q[i];
    }
    return s;
  }
}
