package org.loraquant.codec;

import org.loraquant.linalg.DenseReferenceSvd;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.linalg.ThinSvd;

/**
 * Test-only plain reimplementation of LoRAQuant as the paper's code computes it: dense SVD of the
 * m x n product, float32 arithmetic, unrounded float32 scales, the reference split rule counted as
 * "components whose cumulative energy share is below rho", and the error from dense products.
 * Groups run along each vector without straddling (the paper's flattened reshape agrees when the
 * dimensions are multiples of the group size; elsewhere this mirrors docs/ALGORITHM.md step 4).
 */
final class ReferenceLoraQuant {
  record Result(int k, int h, long payloadBits, double relError) {}

  private ReferenceLoraQuant() {}

  static Result run(LoraFactors f, double rho, int bitsHigh, int groupSize, LinearAlgebra linalg) {
    int m = f.m();
    int n = f.n();
    int r = f.r();
    double[] b = new double[m * r];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        b[j * m + i] = f.b()[i * r + j];
      }
    }
    double[] at = new double[r * n];
    for (int i = 0; i < at.length; i++) {
      at[i] = f.a()[i];
    }
    ThinSvd svd = new DenseReferenceSvd(linalg).decompose(m, n, r, b, at);
    int k = svd.k();
    int h = k == 0 ? 0 : referenceSplit(svd.s(), (float) rho);

    float[] bHat = new float[m * k]; // row-major m x k
    float[] aHat = new float[k * n]; // row-major k x n
    float[] vector = new float[Math.max(m, n)];
    for (int c = 0; c < k; c++) {
      float root = (float) Math.sqrt(svd.s()[c]);
      int bits = c < h ? bitsHigh : 1;
      for (int i = 0; i < m; i++) {
        vector[i] = (float) svd.u()[c * m + i] * root;
      }
      quantize(vector, m, bits, groupSize);
      for (int i = 0; i < m; i++) {
        bHat[i * k + c] = vector[i];
      }
      for (int l = 0; l < n; l++) {
        vector[l] = root * (float) svd.v()[c * n + l];
      }
      quantize(vector, n, bits, groupSize);
      System.arraycopy(vector, 0, aHat, c * n, n);
    }
    double rel = TestFactors.denseRelativeError(f, new DecodedLayer(m, n, r, k, bHat, aHat));
    long payload = ((long) h * bitsHigh + (k - h)) * (m + n);
    return new Result(k, h, payload, rel);
  }

  /** max(1, number of j with cumsum(s^2)[j] / sum(s^2) < rho), in float32 like torch. */
  static int referenceSplit(double[] s, float rho) {
    float total = 0;
    for (double v : s) {
      total += (float) v * (float) v;
    }
    float cumulative = 0;
    int below = 0;
    for (double v : s) {
      cumulative += (float) v * (float) v;
      if (cumulative / total < rho) {
        below++;
      }
    }
    return Math.max(1, below);
  }

  private static void quantize(float[] x, int length, int bits, int groupSize) {
    for (int start = 0; start < length; start += groupSize) {
      int end = Math.min(length, start + groupSize);
      if (bits == 1) {
        float sum = 0;
        for (int i = start; i < end; i++) {
          sum += Math.abs(x[i]);
        }
        float mean = sum / (end - start);
        for (int i = start; i < end; i++) {
          x[i] = Math.signum(x[i]) * mean;
        }
      } else {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (int i = start; i < end; i++) {
          lo = Math.min(lo, x[i]);
          hi = Math.max(hi, x[i]);
        }
        int qmax = (1 << bits) - 1;
        float scale = Math.max(hi - lo, 1e-5f) / qmax;
        float zero = Math.min(Math.max((float) Math.rint(-lo / scale), 0), qmax);
        for (int i = start; i < end; i++) {
          float q = Math.min(Math.max((float) Math.rint(x[i] / scale) + zero, 0), qmax);
          x[i] = (q - zero) * scale;
        }
      }
    }
  }
}
