package org.loraquant.safetensors;

import java.util.Arrays;

/**
 * One tensor's entry in a safetensors header. {@code begin} and {@code end} are offsets into the
 * data area (after the header), as in the file; {@link #absoluteBegin} adds the data start.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end, long dataStart) {

  public TensorInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  public int rank() {
    return shape.length;
  }

  public long dim(int i) {
    return shape[i];
  }

  public long numel() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  public long byteLength() {
    return end - begin;
  }

  /** Offset of the tensor's first byte in the file. */
  public long absoluteBegin() {
    return dataStart + begin;
  }

  public String shapeString() {
    return Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && begin == t.begin
        && end == t.end
        && dataStart == t.dataStart;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + dtype + shapeString();
  }
}
