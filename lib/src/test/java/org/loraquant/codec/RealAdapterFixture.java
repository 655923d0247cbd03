package org.loraquant.codec;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * TEST FIXTURE ONLY: a minimal reader of the real adapters' {@code adapter_model.safetensors}
 * (F32 / F16 / BF16 {@code *.lora_A.weight} [r, in] and {@code *.lora_B.weight} [out, r] pairs,
 * conv weights flattened to 2-D). It trusts the files in shared/adapters/real and checks little;
 * the project's real safetensors/PEFT reader replaces it once merged.
 */
final class RealAdapterFixture {
  /** One LoRA pair of one adapter. */
  record Layer(String adapter, String module, LoraFactors factors) {
    @Override
    public String toString() {
      return adapter + ":" + module + " " + factors.m() + "x" + factors.n() + " r" + factors.r();
    }
  }

  private RealAdapterFixture() {}

  /** The shared real-adapter folder, or a skipped test (a failure under CI=true) if missing. */
  static Path adaptersRoot() {
    String property = System.getProperty("loraquant.shared.adapters");
    Path root = property == null ? null : Path.of(property);
    boolean present = root != null && Files.isDirectory(root);
    if (!present && "true".equals(System.getenv("CI"))) {
      throw new AssertionError("real adapters missing under CI: loraquant.shared.adapters=" + property);
    }
    assumeTrue(present, "real adapters not found (loraquant.shared.adapters=" + property + ")");
    return root;
  }

  static List<Layer> loadAll(Path root) throws IOException {
    List<Layer> layers = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(root)) {
      for (Path dir : (Iterable<Path>) dirs.sorted()::iterator) {
        Path file = dir.resolve("adapter_model.safetensors");
        if (Files.isRegularFile(file)) {
          layers.addAll(load(dir.getFileName().toString(), file));
        }
      }
    }
    return layers;
  }

  static List<Layer> load(String adapter, Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int headerLength = Math.toIntExact(buf.getLong(0));
    JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, headerLength,
        java.nio.charset.StandardCharsets.UTF_8));
    int dataStart = 8 + headerLength;
    Map<String, float[][]> pairs = new TreeMap<>();
    Map<String, int[][]> shapes = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      int slot = name.endsWith(".lora_A.weight") ? 0 : name.endsWith(".lora_B.weight") ? 1 : -1;
      if (slot < 0) {
        continue;
      }
      String module = name.substring(0, name.length() - ".lora_A.weight".length());
      JsonNode info = e.getValue();
      int[] shape = new int[info.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = info.get("shape").get(i).asInt();
      }
      long start = info.get("data_offsets").get(0).asLong();
      long end = info.get("data_offsets").get(1).asLong();
      float[] values = decode(info.get("dtype").asText(), buf, dataStart + (int) start,
          (int) (end - start));
      pairs.computeIfAbsent(module, x -> new float[2][])[slot] = values;
      shapes.computeIfAbsent(module, x -> new int[2][])[slot] = shape;
    }
    List<Layer> layers = new ArrayList<>();
    for (Map.Entry<String, float[][]> e : pairs.entrySet()) {
      float[][] pair = e.getValue();
      int[][] shape = shapes.get(e.getKey());
      if (pair[0] == null || pair[1] == null) {
        continue;
      }
      int r = shape[0][0];
      int n = pair[0].length / Math.max(1, r); // conv A [r, in, kh, kw] flattens to [r, in*kh*kw]
      int m = shape[1][0];
      layers.add(new Layer(adapter, e.getKey(), new LoraFactors(m, n, r, pair[1], pair[0])));
    }
    return layers;
  }

  private static float[] decode(String dtype, ByteBuffer buf, int offset, int length) {
    switch (dtype) {
      case "F32": {
        float[] out = new float[length / 4];
        for (int i = 0; i < out.length; i++) {
          out[i] = buf.getFloat(offset + 4 * i);
        }
        return out;
      }
      case "F16": {
        float[] out = new float[length / 2];
        for (int i = 0; i < out.length; i++) {
          out[i] = Binary16.toFloat(buf.getShort(offset + 2 * i));
        }
        return out;
      }
      case "BF16": {
        float[] out = new float[length / 2];
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.intBitsToFloat((buf.getShort(offset + 2 * i) & 0xffff) << 16);
        }
        return out;
      }
      default:
        throw new IllegalArgumentException("fixture does not read dtype " + dtype);
    }
  }
}
