package org.loraquant.codec;

import java.util.Random;

/** Seeded random LoRA factors and dense (test-only) error measurement. */
final class TestFactors {
  private TestFactors() {}

  /** Gaussian B and A with LoRA-like magnitudes (B ~ 0.01, A ~ 0.05). */
  static LoraFactors gaussian(long seed, int m, int n, int r) {
    Random random = new Random(seed);
    float[] b = new float[m * r];
    float[] a = new float[r * n];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) (0.01 * random.nextGaussian());
    }
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) (0.05 * random.nextGaussian());
    }
    return new LoraFactors(m, n, r, b, a);
  }

  /** Gaussian factors with a decaying spectrum: component j of B scaled by 0.7^j. */
  static LoraFactors decaying(long seed, int m, int n, int r) {
    LoraFactors f = gaussian(seed, m, n, r);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        f.b()[i * r + j] *= (float) Math.pow(0.7, j);
      }
    }
    return f;
  }

  /** B A (row-major m x n), in double. */
  static double[] product(int m, int n, int r, float[] b, float[] a) {
    double[] out = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        double bij = b[i * r + j];
        if (bij == 0) {
          continue;
        }
        for (int l = 0; l < n; l++) {
          out[i * n + l] += bij * a[j * n + l];
        }
      }
    }
    return out;
  }

  /** ||B A - B^ A^||_F / ||B A||_F from dense m x n products (0 when B A = 0). */
  static double denseRelativeError(LoraFactors f, DecodedLayer d) {
    double[] exact = product(f.m(), f.n(), f.r(), f.b(), f.a());
    double[] approx = product(d.m(), d.n(), d.k(), d.b(), d.a());
    double err = 0;
    double norm = 0;
    for (int i = 0; i < exact.length; i++) {
      double diff = exact[i] - approx[i];
      err += diff * diff;
      norm += exact[i] * exact[i];
    }
    return norm == 0 ? 0 : Math.sqrt(err / norm);
  }
}
