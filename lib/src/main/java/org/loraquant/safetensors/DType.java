package org.loraquant.safetensors;

/** The safetensors element types, with their size in bytes. */
public enum DType {
  BOOL(1),
  U8(1),
  I8(1),
  F8_E4M3(1),
  F8_E5M2(1),
  I16(2),
  U16(2),
  F16(2),
  BF16(2),
  I32(4),
  U32(4),
  F32(4),
  I64(8),
  U64(8),
  F64(8);

  private final int size;

  DType(int size) {
    this.size = size;
  }

  /** Bytes per element. */
  public int size() {
    return size;
  }

  /** True for the float types LoRA factors may come in (and that we decode to float). */
  public boolean isLoraFloat() {
    return this == F32 || this == F16 || this == BF16;
  }

  /**
   * Parses the header's dtype string, exactly as the format spells it ("F32", not "f32": the
   * reference implementation refuses other spellings); null if unknown (callers produce the error
   * message).
   */
  public static DType parseOrNull(String name) {
    for (DType d : values()) {
      if (d.name().equals(name)) {
        return d;
      }
    }
    return null;
  }
}
