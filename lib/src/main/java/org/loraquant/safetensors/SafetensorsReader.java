package org.loraquant.safetensors;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.InputFile;
import org.loraquant.io.IoErrors;

/**
 * Random access to the tensors of one safetensors file: each read fetches exactly one tensor's byte
 * range, so a job can read a single layer from object storage without the rest of the file.
 */
public final class SafetensorsReader {
  /** Largest tensor read into one byte array (Java arrays are int-indexed). */
  static final int MAX_TENSOR_BYTES = Integer.MAX_VALUE - 8;

  private final InputFile file;
  private final SafetensorsHeader header;

  private SafetensorsReader(InputFile file, SafetensorsHeader header) {
    this.file = file;
    this.header = header;
  }

  /** Reads and validates the header; see {@link SafetensorsHeader#read}. */
  public static SafetensorsReader open(InputFile file) {
    return new SafetensorsReader(file, SafetensorsHeader.read(file));
  }

  /** A reader over a header parsed before (from bytes that travelled with a plan): no reads. */
  public static SafetensorsReader of(InputFile file, SafetensorsHeader header) {
    return new SafetensorsReader(file, header);
  }

  public InputFile file() {
    return file;
  }

  public SafetensorsHeader header() {
    return header;
  }

  /** The tensor's raw little-endian bytes, exactly as stored. */
  public byte[] readBytes(TensorInfo tensor) {
    long length = tensor.byteLength();
    if (length > MAX_TENSOR_BYTES) {
      throw new InvalidAdapterException(
          file.location(), tensor.name(), length + " bytes is too large to read into one array");
    }
    try {
      return file.read(tensor.absoluteBegin(), (int) length);
    } catch (EOFException e) {
      // The header was checked against the file's length, so the file shrank since: an upload
      // being replaced, or storage returning a short object.
      throw new IncompleteAdapterException(
          file.location(),
          tensor.name(),
          "file ended inside the tensor's bytes: " + e.getMessage());
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot read tensor '"
              + InvalidAdapterException.printable(tensor.name())
              + "' of "
              + file.location()
              + ": "
              + IoErrors.reason(e),
          e);
    }
  }

  /** The tensor's values as floats, row-major; the dtype must be F32, F16 or BF16. */
  public float[] readFloats(TensorInfo tensor) {
    if (!tensor.dtype().isLoraFloat()) {
      throw new InvalidAdapterException(
          file.location(), tensor.name(), "dtype " + tensor.dtype() + " is not F32, F16 or BF16");
    }
    long numel = tensor.numel();
    if (numel > MAX_TENSOR_BYTES) {
      throw new InvalidAdapterException(
          file.location(), tensor.name(), numel + " values are too many for one float array");
    }
    byte[] bytes = readBytes(tensor);
    return FloatDecoding.decode(tensor.dtype(), bytes, 0, (int) numel);
  }
}
