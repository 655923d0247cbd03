package org.loraquant.codec;

/**
 * Reconstructed factors of a compressed layer: B^ (m x k) and A^ (k x n), row-major like
 * {@link LoraFactors}.
 */
public record DecodedLayer(int m, int n, int rank, int k, float[] b, float[] a) {

  /** As PEFT factors of the original rank r, padded with zero components when k < r. */
  public LoraFactors toLoraFactors() {
    if (k == rank) {
      return new LoraFactors(m, n, rank, b, a);
    }
    float[] paddedB = new float[m * rank];
    for (int i = 0; i < m; i++) {
      System.arraycopy(b, i * k, paddedB, i * rank, k);
    }
    float[] paddedA = new float[rank * n];
    System.arraycopy(a, 0, paddedA, 0, k * n);
    return new LoraFactors(m, n, rank, paddedB, paddedA);
  }
}
