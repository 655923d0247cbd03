package org.loraquant.format;

import java.util.Arrays;
import org.loraquant.safetensors.DType;

/** A tensor with its raw little-endian bytes, as it is written to or read from safetensors. */
public record NamedTensor(String name, DType dtype, long[] shape, byte[] data) {
  public NamedTensor {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NamedTensor t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && Arrays.equals(data, t.data);
  }

  @Override
  public int hashCode() {
    return name.hashCode();
  }

  @Override
  public String toString() {
    return name + " " + dtype + Arrays.toString(shape);
  }
}
