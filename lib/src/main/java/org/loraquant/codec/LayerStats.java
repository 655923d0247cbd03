package org.loraquant.codec;

import java.io.Serializable;

/**
 * What compressing one layer cost and achieved. Serializable (Spark collects these).
 *
 * @param m rows of B (output features)
 * @param n columns of A (input features)
 * @param rank r, the LoRA rank of the input
 * @param k min(r, m, n), components kept
 * @param h components in the high tier
 * @param singularValues the k singular values of B A, descending (not copied: do not modify)
 * @param highEnergyShare (s_1^2 + ... + s_h^2) / sum s^2; 0 for an all-zero update
 * @param payloadBits (h * bits_high + (k - h)) * (m + n): code bits only, as the paper counts
 * @param params r * (m + n), the parameters of the input factors
 * @param effectiveBits every stored bit: codes, binary16 scales, 8-bit zero points, plus
 *     {@link #LAYER_HEADER_BITS} for the layer header
 * @param relError ||B A - B^ A^||_F / ||B A||_F with every tier quantized; 0 for a zero update
 * @param errorHigh the same ratio when only the high tier is quantized (1-bit tier exact)
 * @param errorLow the same ratio when only the 1-bit tier is quantized (high tier exact)
 * @param zeroUpdate B A is exactly zero (e.g. an untrained adapter with B = 0)
 * @param nanos wall time of the compression, SVD to stats included
 */
public record LayerStats(int m, int n, int rank, int k, int h, float[] singularValues,
    double highEnergyShare, long payloadBits, long params, long effectiveBits, double relError,
    double errorHigh, double errorLow, boolean zeroUpdate, long nanos) implements Serializable {

  private static final long serialVersionUID = 1L;

  /**
   * Allowance for one layer's header in the compressed file (shape, k, h, tier table, offsets):
   * 64 bytes. The format owns the exact figure; this keeps effective bits honest meanwhile.
   */
  public static final long LAYER_HEADER_BITS = 64 * 8;

  /** Payload bits per input parameter (the paper's figure); 0 when there are no parameters. */
  public double payloadBitsPerParam() {
    return params == 0 ? 0 : (double) payloadBits / params;
  }

  /** Effective bits per input parameter (the storage bill); 0 when there are no parameters. */
  public double effectiveBitsPerParam() {
    return params == 0 ? 0 : (double) effectiveBits / params;
  }
}
