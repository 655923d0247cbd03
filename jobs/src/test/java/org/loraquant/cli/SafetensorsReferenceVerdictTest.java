package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.LocalFileIO;
import org.loraquant.safetensors.SafetensorsReader;
import org.loraquant.safetensors.SafetensorsWriter;
import org.loraquant.safetensors.TensorInfo;
import org.loraquant.testing.PythonScripts;
import org.loraquant.testing.TestPaths;

/**
 * Our safetensors reader against the reference (the Python {@code safetensors} package, i.e. the
 * Rust crate): on a set of crafted files, well-formed and not, both must give the same verdict,
 * except where we are deliberately stricter (listed in {@link #STRICTER}). Python comes from
 * {@code $LORAQUANT_PYTHON} ({@link PythonScripts}); without it the test is skipped.
 */
class SafetensorsReferenceVerdictTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(120);
  private static final String T4 = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":";

  /** Files the reference reads and we refuse, with the reason. */
  private static final Map<String, String> STRICTER =
      Map.of("duplicate-tensor-name", "the reference silently keeps the last entry");

  @TempDir Path tmp;

  private static byte[] file(byte[] header, int dataBytes, long declaredDelta) {
    return ByteBuffer.allocate(8 + header.length + dataBytes)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putLong(header.length + declaredDelta)
        .put(header)
        .array();
  }

  private static byte[] file(String header, int dataBytes) {
    return file(header.getBytes(StandardCharsets.UTF_8), dataBytes, 0);
  }

  private static byte[] withBytes(String before, byte[] bad, String after, int dataBytes) {
    byte[] a = before.getBytes(StandardCharsets.UTF_8);
    byte[] c = after.getBytes(StandardCharsets.UTF_8);
    byte[] header = new byte[a.length + bad.length + c.length];
    System.arraycopy(a, 0, header, 0, a.length);
    System.arraycopy(bad, 0, header, a.length, bad.length);
    System.arraycopy(c, 0, header, a.length + bad.length, c.length);
    return file(header, dataBytes, 0);
  }

  private static Map<String, byte[]> cases() throws IOException {
    Map<String, byte[]> c = new LinkedHashMap<>();
    String one = "{\"t\":" + T4 + "[0,4]}}";
    // Well-formed.
    c.put(
        "writer-output",
        new SafetensorsWriter()
            .metadata("format", "pt")
            .addF32("b", new long[] {2, 3}, new float[6])
            .addF32("a", new long[] {3}, new float[3])
            .toByteArray());
    c.put("empty", file("{}      ", 0));
    c.put("whitespace-around", file(" \n\t" + one + " \r\n ", 4));
    c.put("metadata-null", file("{\"__metadata__\":null,\"t\":" + T4 + "[0,4]}}", 4));
    c.put("emoji-name", file("{\"t\\ud83d\\ude00\":" + T4 + "[0,4]}}", 4));
    c.put("newline-name", file("{\"a\\nb\":" + T4 + "[0,4]}}", 4));
    c.put(
        "extra-entry-field",
        file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":[1]}}", 4));
    c.put(
        "empty-tensor-at-end",
        file(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}",
            8));
    c.put("scalar", file("{\"t\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4));
    // Malformed.
    c.put("header-length-one-short", file((one + "  ").getBytes(StandardCharsets.UTF_8), 4, -1));
    c.put("header-length-one-long", file((one + "  ").getBytes(StandardCharsets.UTF_8), 4, 1));
    c.put("bytes-appended", file(one, 4 + 16));
    c.put("data-truncated", file(one, 3));
    c.put("gap", file("{\"a\":" + T4 + "[0,4]},\"b\":" + T4 + "[8,12]}}", 12));
    c.put("gap-at-start", file("{\"a\":" + T4 + "[4,8]}}", 8));
    c.put("overlap", file("{\"a\":" + T4 + "[0,4]},\"b\":" + T4 + "[2,6]}}", 6));
    c.put(
        "empty-tensor-inside-another",
        file(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
            8));
    c.put("lone-surrogate-name", file("{\"t\\ud800\":" + T4 + "[0,4]}}", 4));
    c.put(
        "lone-surrogate-metadata",
        file("{\"__metadata__\":{\"k\":\"\\udc00\"},\"t\":" + T4 + "[0,4]}}", 4));
    c.put("invalid-utf8", withBytes("{\"t", new byte[] {(byte) 0xff}, "\":" + T4 + "[0,4]}}", 4));
    c.put(
        "overlong-utf8",
        withBytes("{\"t", new byte[] {(byte) 0xc0, (byte) 0xaf}, "\":" + T4 + "[0,4]}}", 4));
    c.put(
        "encoded-surrogate",
        withBytes(
            "{\"t", new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, "\":" + T4 + "[0,4]}}", 4));
    c.put("utf16-header", file(one.getBytes(StandardCharsets.UTF_16LE), 4, 0));
    c.put("byte-order-mark", file("\ufeff" + one, 4));
    c.put("trailing-garbage", file(one + " x", 4));
    c.put("no-break-space-padding", file(one + "\u00a0", 4));
    c.put("lowercase-dtype", file("{\"t\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
    c.put("metadata-number", file("{\"__metadata__\":{\"k\":1},\"t\":" + T4 + "[0,4]}}", 4));
    c.put("metadata-array", file("{\"__metadata__\":[\"k\"]}", 0));
    c.put("size-mismatch", file("{\"t\":" + T4 + "[0,8]}}", 8));
    c.put("offsets-reversed", file("{\"t\":" + T4 + "[4,0]}}", 4));
    c.put("negative-shape", file("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0));
    c.put("duplicate-tensor-name", file("{\"t\":" + T4 + "[0,4]},\"t\":" + T4 + "[0,4]}}", 4));
    return c;
  }

  /** Null if we read the file and all its tensors, else our one-line refusal. */
  private static String ourVerdict(Path path) {
    try {
      SafetensorsReader reader = SafetensorsReader.open(new LocalFileIO().newInputFile(path.toString()));
      for (TensorInfo t : reader.header().tensors()) {
        reader.readBytes(t);
      }
      return null;
    } catch (InvalidAdapterException e) {
      return e.getMessage();
    }
  }

  @Test
  void ourVerdictIsTheReferenceVerdict() throws Exception {
    String python = PythonScripts.pythonOrSkip();
    Map<String, byte[]> cases = cases();
    List<String> files = new ArrayList<>();
    for (Map.Entry<String, byte[]> e : cases.entrySet()) {
      Path p = tmp.resolve(e.getKey() + ".safetensors");
      Files.write(p, e.getValue());
      files.add(p.toString());
    }
    JsonNode reference = PythonScripts.run(python, script(), files, Map.of(), TIMEOUT, tmp).get("verdicts");

    List<String> disagreements = new ArrayList<>();
    for (String name : cases.keySet()) {
      Path p = tmp.resolve(name + ".safetensors");
      boolean theyRead = reference.get(p.toString()).isNull();
      String ours = ourVerdict(p);
      boolean weRead = ours == null;
      boolean agrees = STRICTER.containsKey(name) ? !weRead : weRead == theyRead;
      if (!agrees) {
        disagreements.add(
            name + ": reference " + (theyRead ? "reads it" : "refuses: " + reference.get(p.toString()).asText())
                + "; we " + (weRead ? "read it" : "refuse: " + ours));
      }
    }
    assertThat(disagreements).isEmpty();
  }

  private static Path script() {
    return TestPaths.jobsModule().resolve("src/test/python/safetensors_verdicts.py");
  }
}
