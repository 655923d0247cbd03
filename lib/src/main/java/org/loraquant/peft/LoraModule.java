package org.loraquant.peft;

import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.TensorInfo;

/**
 * One LoRA layer of an adapter: its two factor tensors and the 2-D shape they multiply to, dW = B A
 * with B m x rank and A rank x n.
 *
 * @param module the key without the {@code .lora_A.weight} / {@code .lora_B.weight} suffix
 * @param a lora_A, [rank, in] (conv: [rank, in, kh, kw], read as [rank, in*kh*kw])
 * @param b lora_B, [out, rank] (conv: [out, rank, 1, 1])
 * @param rank rows of A, columns of B
 * @param m out features (rows of B)
 * @param n in features (columns of the flattened A)
 */
public record LoraModule(String module, TensorInfo a, TensorInfo b, int rank, int m, int n) {

  /** Values in both factors: rank x (m + n). */
  public long params() {
    return (long) rank * ((long) m + n);
  }

  /** Stored bytes of both factors. */
  public long bytes() {
    return a.byteLength() + b.byteLength();
  }

  /** The factors' dtype, e.g. {@code F32}; {@code A/B} (e.g. {@code F32/F16}) when they differ. */
  public String dtypeName() {
    DType da = a.dtype();
    DType db = b.dtype();
    return da == db ? da.name() : da.name() + "/" + db.name();
  }
}
