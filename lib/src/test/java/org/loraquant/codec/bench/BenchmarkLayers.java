package org.loraquant.codec.bench;

import java.util.Random;
import org.loraquant.codec.LoraFactors;
import org.loraquant.linalg.LinearAlgebra;

/** Shapes and seeded factors shared by the codec benchmarks. */
final class BenchmarkLayers {
  private BenchmarkLayers() {}

  /** Parses "MxNrR", e.g. "4096x4096r16", into {m, n, r}. */
  static int[] parse(String shape) {
    String[] mn = shape.split("r");
    String[] dims = mn[0].split("x");
    return new int[] {Integer.parseInt(dims[0]), Integer.parseInt(dims[1]), Integer.parseInt(mn[1])};
  }

  /** LoRA-like factors: Gaussian, B ~ 0.01 and A ~ 0.05, component j of B scaled by 0.8^j. */
  static LoraFactors factors(String shape) {
    int[] d = parse(shape);
    int m = d[0];
    int n = d[1];
    int r = d[2];
    Random random = new Random(42);
    float[] b = new float[m * r];
    float[] a = new float[r * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        b[i * r + j] = (float) (0.01 * Math.pow(0.8, j) * random.nextGaussian());
      }
    }
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) (0.05 * random.nextGaussian());
    }
    return new LoraFactors(m, n, r, b, a);
  }

  static LinearAlgebra linalg(String lapack) {
    return "native".equals(lapack) ? LinearAlgebra.nativeOnly() : LinearAlgebra.javaOnly();
  }
}
