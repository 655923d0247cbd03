package org.loraquant.compress;

import java.util.Locale;
import org.loraquant.safetensors.DType;

/** The dtype of decompressed lora_A / lora_B tensors. */
public enum OutputDType {
  /** Each factor in the dtype it had before compression. */
  SAME,
  F32,
  F16,
  BF16;

  public DType resolve(DType source) {
    return this == SAME ? source : DType.valueOf(name());
  }

  /** Parses {@code same|f32|f16|bf16}; the message lists the choices. */
  public static OutputDType parse(String s) {
    try {
      return valueOf(s.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown dtype '" + s + "'; choose same, f32, f16 or bf16");
    }
  }
}
