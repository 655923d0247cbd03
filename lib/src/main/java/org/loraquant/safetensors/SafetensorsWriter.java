package org.loraquant.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a safetensors file: 8-byte little-endian header length, a JSON header padded with spaces
 * to a multiple of 8, then the tensor bytes. Output is deterministic: {@code __metadata__} first,
 * tensors sorted by name in the header and laid out in the data area in that same order, so the
 * same tensors always give the same bytes.
 */
public final class SafetensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, String> metadata = new TreeMap<>();
  private final Map<String, Entry> tensors = new TreeMap<>();

  private record Entry(DType dtype, long[] shape, byte[] data) {}

  /** Adds a string entry to {@code __metadata__}. */
  public SafetensorsWriter metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  /** Adds a tensor; {@code data} is its raw little-endian bytes, which must match dtype x shape. */
  public SafetensorsWriter add(String name, DType dtype, long[] shape, byte[] data) {
    long numel = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(name + ": negative dimension in " + java.util.Arrays.toString(shape));
      }
      numel = Math.multiplyExact(numel, d);
    }
    if (Math.multiplyExact(numel, dtype.size()) != data.length) {
      throw new IllegalArgumentException(
          name + ": " + data.length + " bytes given for " + dtype + java.util.Arrays.toString(shape));
    }
    if (tensors.putIfAbsent(name, new Entry(dtype, shape.clone(), data)) != null) {
      throw new IllegalArgumentException("duplicate tensor name " + name);
    }
    return this;
  }

  public SafetensorsWriter addF32(String name, long[] shape, float[] values) {
    ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(values);
    return add(name, DType.F32, shape, bb.array());
  }

  /** The header bytes (without the 8-byte length), padded with spaces to a multiple of 8. */
  public byte[] headerBytes() throws IOException {
    Map<String, Object> header = new LinkedHashMap<>();
    if (!metadata.isEmpty()) {
      header.put("__metadata__", metadata);
    }
    long offset = 0;
    for (Map.Entry<String, Entry> e : tensors.entrySet()) {
      Entry t = e.getValue();
      Map<String, Object> info = new LinkedHashMap<>();
      info.put("dtype", t.dtype().name());
      info.put("shape", t.shape());
      info.put("data_offsets", List.of(offset, offset + t.data().length));
      header.put(e.getKey(), info);
      offset += t.data().length;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    byte[] out = new byte[padded];
    System.arraycopy(json, 0, out, 0, json.length);
    for (int i = json.length; i < padded; i++) {
      out[i] = ' ';
    }
    return out;
  }

  /** Total size of the file this writer produces. */
  public long fileLength() throws IOException {
    long n = 8L + headerBytes().length;
    for (Entry t : tensors.values()) {
      n += t.data().length;
    }
    return n;
  }

  public void writeTo(OutputStream out) throws IOException {
    byte[] header = headerBytes();
    byte[] len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array();
    out.write(len);
    out.write(header);
    for (Entry t : tensors.values()) {
      out.write(t.data());
    }
  }

  public byte[] toByteArray() throws IOException {
    java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
    writeTo(bos);
    return bos.toByteArray();
  }

  /** Names in file order. */
  public List<String> names() {
    return new ArrayList<>(tensors.keySet());
  }
}
