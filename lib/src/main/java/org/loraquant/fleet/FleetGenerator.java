package org.loraquant.fleet;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.io.FileIO;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.FloatEncoding;
import org.loraquant.safetensors.SafetensorsWriter;

/**
 * Writes a synthetic fleet of LoRA adapters in Hugging Face PEFT layout, for demos, benchmarks and
 * tests. Seeded and deterministic: the same options give byte-identical files.
 *
 * <p>Layout: {@code ROOT/tenant-T/adapter-NNNNN/} with {@code adapter_config.json} (keys as PEFT
 * 0.13 writes them), {@code adapter_model.safetensors} ({@code lora_A} [r, in] and {@code lora_B}
 * [out, r] per module, {@code __metadata__ {"format":"pt"}}) and a short {@code README.md}. Each
 * adapter is written into a hidden sibling folder and renamed into place, so a reader never sees
 * half an adapter.
 *
 * <p>The mix (unless a rank is forced, the rank too): ranks from {8, 16, 32, 64, 128, 256} weighted
 * towards small ones; targets q/v, q/k/v/o or all seven linear layers; three in four adapters on
 * every decoder layer, the rest on an upper slice (layers_to_transform); dtypes BF16, F16 and F32.
 * About one adapter in twenty is "big" (all layers, all modules, rank 128): on llama2-7b that is
 * some 40 times the typical q/v rank-16 adapter, the straggler the job must absorb.
 *
 * <p>Factors look trained: {@code B = U diag(s)} with U Gaussian with columns of unit expected norm
 * (nearly orthonormal when out >> r) and {@code s_i = s_0 (i + 1)^-decay}, and A drawn like PEFT's
 * kaiming-uniform init, U(-1/sqrt(in), 1/sqrt(in)), whose rows are nearly orthogonal; so the
 * singular values of B A fall off like s. Cost is O((in + out) r) per layer: one random long per
 * value, never an in x out product. Gaussians are the sum of four 16-bit uniforms (Irwin-Hall,
 * bounded at 3.5 sigma): plenty for synthetic weights at a fraction of nextGaussian's cost.
 *
 * <p>Memory: one adapter's tensors are held at once (SafetensorsWriter needs them all to write the
 * header); the big llama2-7b adapter is about 650 MB.
 */
public final class FleetGenerator {
  /** Fleet-wide settings; {@code rank == 0} means the mixed ranks described above. */
  public record Options(int adapters, ModelShape shape, int rank, long seed) {
    public Options {
      if (adapters < 1) {
        throw new LoraQuantException("The fleet needs at least one adapter, got " + adapters);
      }
      if (rank < 0) {
        throw new LoraQuantException("Rank must be positive, got " + rank);
      }
    }
  }

  static final String CONFIG = "adapter_config.json";
  static final String WEIGHTS = "adapter_model.safetensors";
  static final String README = "README.md";
  static final int TENANTS = 8;

  private static final int[] RANKS = {8, 16, 32, 64, 128, 256};
  private static final int[] RANK_WEIGHTS = {25, 30, 20, 15, 7, 3};
  private static final List<List<String>> TARGET_SETS =
      List.of(
          List.of("q_proj", "v_proj"),
          List.of("q_proj", "k_proj", "v_proj", "o_proj"),
          List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"));
  private static final int[] TARGET_WEIGHTS = {45, 30, 25};
  private static final DType[] DTYPES = {DType.BF16, DType.F16, DType.F32};
  private static final int[] DTYPE_WEIGHTS = {50, 30, 20};

  /** Typical magnitude of the largest entries of a trained B; sets s_0. */
  private static final double TOP_B_ENTRY = 4e-3;

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  private final FileIO io;
  private final Options options;

  public FleetGenerator(FileIO io, Options options) {
    this.io = io;
    this.options = options;
  }

  /** The adapters the fleet will hold, in order, without writing anything. */
  public List<AdapterSpec> plan() {
    List<AdapterSpec> specs = new ArrayList<>(options.adapters());
    for (int i = 0; i < options.adapters(); i++) {
      specs.add(spec(i));
    }
    return specs;
  }

  /**
   * Writes the fleet under {@code root}, which must be absent or empty (the generator never
   * overwrites data). Returns what was written.
   */
  public FleetSummary generate(String root) throws IOException {
    if (!io.list(root).isEmpty()) {
      throw new LoraQuantException(
          root + " is not empty; generate-fleet writes only into a new or empty directory");
    }
    io.mkdirs(root);
    List<FleetSummary.Adapter> written = new ArrayList<>();
    for (AdapterSpec spec : plan()) {
      written.add(
          new FleetSummary.Adapter(spec.relativePath(), spec.layerCount(), write(root, spec)));
    }
    return new FleetSummary(root, written);
  }

  /** Writes one adapter atomically (temp folder + rename) and returns the bytes written. */
  public long write(String root, AdapterSpec spec) throws IOException {
    String target = root + "/" + spec.relativePath();
    int slash = target.lastIndexOf('/');
    String temp =
        target.substring(0, slash + 1) + "." + target.substring(slash + 1) + ".inprogress";
    io.deleteRecursively(temp);
    long bytes = 0;
    bytes += writeFile(temp + "/" + CONFIG, configJson(spec));
    bytes += writeFile(temp + "/" + README, readme(spec));
    SafetensorsWriter weights = weights(spec);
    try (OutputStream out = io.newOutputFile(temp + "/" + WEIGHTS).create()) {
      weights.writeTo(out);
    }
    bytes += weights.fileLength();
    io.renameDirectory(temp, target);
    return bytes;
  }

  AdapterSpec spec(int index) {
    SplittableRandom random = new SplittableRandom(mix(options.seed(), index));
    ModelShape shape = options.shape();
    boolean big = random.nextInt(20) == 0;
    int rank = options.rank() > 0 ? options.rank() : big ? 128 : pick(random, RANKS, RANK_WEIGHTS);
    List<String> targets =
        big ? TARGET_SETS.get(2) : TARGET_SETS.get(pickIndex(random, TARGET_WEIGHTS));
    DType dtype = big ? DType.BF16 : DTYPES[pickIndex(random, DTYPE_WEIGHTS)];
    boolean allLayers = big || shape.layers() < 2 || random.nextInt(4) != 0;
    int first = allLayers ? 0 : shape.layers() / 2 + random.nextInt(shape.layers() / 2);
    List<Integer> layers = new ArrayList<>();
    for (int l = first; l < shape.layers(); l++) {
      layers.add(l);
    }
    int[] alphas = {rank, 2 * rank, 16, 32};
    int alpha = alphas[random.nextInt(alphas.length)];
    double decay = 0.6 + 0.8 * random.nextDouble();
    String path = String.format("tenant-%02d/adapter-%05d", index % TENANTS, index);
    return new AdapterSpec(
        path, shape, rank, alpha, dtype, targets, layers, allLayers, decay, random.nextLong());
  }

  SafetensorsWriter weights(AdapterSpec spec) {
    SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
    int r = spec.rank();
    for (int layer : spec.layers()) {
      for (String kind : spec.targets()) {
        ModelShape.Module module = spec.shape().module(kind);
        String prefix = module.path(layer);
        SplittableRandom random = new SplittableRandom(mix(spec.seed(), prefix.hashCode()));
        writer.add(
            prefix + ".lora_A.weight",
            spec.dtype(),
            new long[] {r, module.in()},
            FloatEncoding.encode(loraA(random, r, module.in()), spec.dtype()));
        writer.add(
            prefix + ".lora_B.weight",
            spec.dtype(),
            new long[] {module.out(), r},
            FloatEncoding.encode(loraB(random, module.out(), r, spec.decay()), spec.dtype()));
      }
    }
    return writer;
  }

  /** A [r, in], like PEFT's kaiming-uniform init: U(-1/sqrt(in), 1/sqrt(in)). */
  static float[] loraA(SplittableRandom random, int r, int in) {
    float[] a = new float[r * in];
    double bound = 1.0 / Math.sqrt(in);
    double scale = 2 * bound / 4294967296.0; // two 32-bit uniforms per random long
    int i = 0;
    for (; i + 1 < a.length; i += 2) {
      long bits = random.nextLong();
      a[i] = (float) ((bits >>> 32) * scale - bound);
      a[i + 1] = (float) ((bits & 0xFFFFFFFFL) * scale - bound);
    }
    if (i < a.length) {
      a[i] = (float) ((random.nextLong() >>> 32) * scale - bound);
    }
    return a;
  }

  /** B [out, r] = U diag(s), U with columns of unit expected norm, s_j = s_0 (j + 1)^-decay. */
  static float[] loraB(SplittableRandom random, int out, int r, double decay) {
    double[] columnScale = new double[r];
    double s0 = TOP_B_ENTRY * Math.sqrt(out);
    for (int j = 0; j < r; j++) {
      columnScale[j] = s0 * Math.pow(j + 1, -decay) / Math.sqrt(out);
    }
    float[] b = new float[out * r];
    for (int i = 0, p = 0; i < out; i++) {
      for (int j = 0; j < r; j++, p++) {
        b[p] = (float) (gaussian(random.nextLong()) * columnScale[j]);
      }
    }
    return b;
  }

  /** Approximately standard normal from 64 random bits: the sum of four 16-bit uniforms. */
  static double gaussian(long bits) {
    long sum =
        (bits & 0xFFFF) + ((bits >>> 16) & 0xFFFF) + ((bits >>> 32) & 0xFFFF) + (bits >>> 48);
    // Each uniform on 0..65535 has mean 32767.5 and variance (65536^2 - 1) / 12.
    return (sum - 131070.0) / 37837.22;
  }

  byte[] configJson(AdapterSpec spec) throws IOException {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("alpha_pattern", Map.of());
    config.put("auto_mapping", null);
    config.put("base_model_name_or_path", spec.shape().baseModel());
    config.put("bias", "none");
    config.put("eva_config", null);
    config.put("exclude_modules", null);
    config.put("fan_in_fan_out", false);
    config.put("inference_mode", true);
    config.put("init_lora_weights", true);
    config.put("layer_replication", null);
    config.put("layers_pattern", null);
    config.put("layers_to_transform", spec.allLayers() ? null : spec.layers());
    config.put("loftq_config", Map.of());
    config.put("lora_alpha", spec.alpha());
    config.put("lora_bias", false);
    config.put("lora_dropout", 0.05);
    config.put("megatron_config", null);
    config.put("megatron_core", "megatron.core");
    config.put("modules_to_save", null);
    config.put("peft_type", "LORA");
    config.put("r", spec.rank());
    config.put("rank_pattern", Map.of());
    config.put("revision", null);
    config.put("target_modules", spec.targets());
    config.put("task_type", "CAUSAL_LM");
    config.put("use_dora", false);
    config.put("use_rslora", false);
    // Python's json.dumps(indent=2), as PEFT's save_pretrained writes it.
    DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
    DefaultPrettyPrinter pretty =
        new DefaultPrettyPrinter(
                Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                    .withObjectEmptySeparator("")
                    .withArrayEmptySeparator(""))
            .withObjectIndenter(indenter)
            .withArrayIndenter(indenter);
    return JSON.writer(pretty).writeValueAsBytes(config);
  }

  private static byte[] readme(AdapterSpec spec) {
    String text =
        "---\nbase_model: "
            + spec.shape().baseModel()
            + "\nlibrary_name: peft\n---\n\n"
            + "# Synthetic LoRA adapter\n\nGenerated by loraquant generate-fleet (rank "
            + spec.rank()
            + ", "
            + spec.dtype()
            + ", targets "
            + String.join(", ", spec.targets())
            + ").\n";
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private long writeFile(String path, byte[] bytes) throws IOException {
    try (OutputStream out = io.newOutputFile(path).create()) {
      out.write(bytes);
    }
    return bytes.length;
  }

  private static int pick(SplittableRandom random, int[] values, int[] weights) {
    return values[pickIndex(random, weights)];
  }

  private static int pickIndex(SplittableRandom random, int[] weights) {
    int total = 0;
    for (int w : weights) {
      total += w;
    }
    int x = random.nextInt(total);
    for (int i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) {
        return i;
      }
    }
    throw new IllegalStateException("unreachable");
  }

  /** SplitMix64 finaliser: independent streams from (seed, index) pairs. */
  static long mix(long seed, long index) {
    long z = seed + 0x9E3779B97F4A7C15L * (index + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
