package org.loraquant.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.FloatEncoding;
import org.loraquant.safetensors.SafetensorsWriter;

/**
 * A small PEFT LoRA adapter built in code from a seed, written as a real adapter folder. The same
 * calls give the same bytes, so golden files can be rebuilt from it.
 */
public final class SyntheticAdapter {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Random random;
  private final ObjectNode config = JSON.createObjectNode();
  private final SafetensorsWriter weights = new SafetensorsWriter();

  public SyntheticAdapter(long seed, int configRank) {
    random = new Random(seed);
    config.put("peft_type", "LORA");
    config.put("r", configRank);
    config.put("lora_alpha", 2 * configRank);
    config.putArray("target_modules").add("q_proj").add("v_proj");
    config.putNull("use_dora");
    // A key no PEFT version knows: it must survive compression and decompression.
    config.putObject("future_option").put("enabled", true).putArray("values").add(1).add(2.5);
    weights.metadata("format", "pt");
  }

  /**
   * A linear pair B [m, r], A [r, n] with a decaying spectrum (component j scaled by 0.6^j).
   * {@code zeroB} gives an untrained update (B = 0).
   */
  public SyntheticAdapter linear(String module, int m, int n, int r, DType dtype, boolean zeroB) {
    float[] b = new float[m * r];
    float[] a = new float[r * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        b[i * r + j] = zeroB ? 0f : (float) (0.02 * Math.pow(0.6, j) * random.nextGaussian());
      }
    }
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) (0.05 * random.nextGaussian());
    }
    weights.add(module + ".lora_B.weight", dtype, new long[] {m, r}, FloatEncoding.encode(b, dtype));
    weights.add(module + ".lora_A.weight", dtype, new long[] {r, n}, FloatEncoding.encode(a, dtype));
    return this;
  }

  /** A conv pair: A [r, in, kh, kw], B [out, r, 1, 1] (m = out, n = in * kh * kw). */
  public SyntheticAdapter conv(String module, int out, int in, int kh, int kw, int r) {
    float[] b = gaussian(out * r, 0.02);
    float[] a = gaussian(r * in * kh * kw, 0.05);
    weights.add(module + ".lora_B.weight", DType.F32, new long[] {out, r, 1, 1}, FloatEncoding.encode(b, DType.F32));
    weights.add(module + ".lora_A.weight", DType.F32, new long[] {r, in, kh, kw}, FloatEncoding.encode(a, DType.F32));
    return this;
  }

  /** A tensor that is not a LoRA factor (a modules_to_save head); random bytes of that size. */
  public SyntheticAdapter passThrough(String name, DType dtype, long... shape) {
    long numel = 1;
    for (long d : shape) {
      numel *= d;
    }
    byte[] data = new byte[Math.toIntExact(numel * dtype.size())];
    random.nextBytes(data);
    weights.add(name, dtype, shape, data);
    return this;
  }

  /** Writes adapter_config.json and adapter_model.safetensors into {@code dir}, creating it. */
  public Path writeTo(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.write(dir.resolve("adapter_config.json"), JSON.writeValueAsBytes(config));
    Files.write(dir.resolve("adapter_model.safetensors"), weights.toByteArray());
    return dir;
  }

  private float[] gaussian(int count, double sigma) {
    float[] out = new float[count];
    for (int i = 0; i < count; i++) {
      out[i] = (float) (sigma * random.nextGaussian());
    }
    return out;
  }
}
