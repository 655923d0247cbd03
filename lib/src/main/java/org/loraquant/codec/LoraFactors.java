package org.loraquant.codec;

/**
 * The two factors of one LoRA layer, dW = B A (the PEFT scaling factor is applied by the serving
 * engine and does not change relative errors). B is m x r and A is r x n, both dense row-major
 * float arrays: {@code b[i * r + j]} is B(i, j), {@code a[j * n + l]} is A(j, l). Conv LoRA
 * weights arrive here already flattened to 2-D.
 */
public record LoraFactors(int m, int n, int r, float[] b, float[] a) {
  public LoraFactors {
    if (m < 0 || n < 0 || r < 0) {
      throw new IllegalArgumentException("negative dimension: m=" + m + " n=" + n + " r=" + r);
    }
    if (b.length != (long) m * r) {
      throw new IllegalArgumentException("B has " + b.length + " values, expected m*r = " + (long) m * r);
    }
    if (a.length != (long) r * n) {
      throw new IllegalArgumentException("A has " + a.length + " values, expected r*n = " + (long) r * n);
    }
  }
}
