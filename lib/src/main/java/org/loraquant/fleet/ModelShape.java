package org.loraquant.fleet;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.loraquant.errors.LoraQuantException;

/**
 * The linear layers of a decoder-only transformer that LoRA adapters target, with their real
 * dimensions. {@code kvDim} is the output width of k_proj and v_proj (smaller than hidden under
 * grouped-query attention).
 */
public record ModelShape(
    String name, String baseModel, int hidden, int kvDim, int intermediate, int layers) {

  /** One target module: where it sits in the block and its in/out features. */
  public record Module(String kind, String block, int in, int out) {
    /** The PEFT module path of this module in decoder layer {@code layer}. */
    public String path(int layer) {
      return "base_model.model.model.layers." + layer + "." + block + "." + kind;
    }
  }

  public static final ModelShape LLAMA2_7B =
      new ModelShape("llama2-7b", "meta-llama/Llama-2-7b-hf", 4096, 4096, 11008, 32);
  public static final ModelShape MISTRAL_7B =
      new ModelShape("mistral-7b", "mistralai/Mistral-7B-v0.1", 4096, 1024, 14336, 32);

  /** Small enough for unit tests, with GQA-style k/v so every module kind has its own shape. */
  public static final ModelShape TINY =
      new ModelShape("tiny", "loraquant/tiny-llama-test", 256, 128, 688, 4);

  /**
   * SmolLM2-135M's dimensions (hidden 576, GQA k/v 192, 30 layers): a real model, small enough
   * that {@code bin/demo}'s 24-adapter mixed fleet (about 300 MB) compresses in about a minute on
   * two cores.
   */
  public static final ModelShape DEMO =
      new ModelShape("demo", "HuggingFaceTB/SmolLM2-135M", 576, 192, 1536, 30);

  private static final Map<String, ModelShape> BY_NAME = new TreeMap<>();

  static {
    for (ModelShape s : List.of(LLAMA2_7B, MISTRAL_7B, TINY, DEMO)) {
      BY_NAME.put(s.name(), s);
    }
  }

  /** The shape called {@code name} (case-insensitive). */
  public static ModelShape named(String name) {
    ModelShape shape = BY_NAME.get(name.toLowerCase(Locale.ROOT));
    if (shape == null) {
      throw new LoraQuantException(
          "Unknown model shape '" + name + "'; known shapes: " + String.join(", ", names()));
    }
    return shape;
  }

  public static List<String> names() {
    return List.copyOf(BY_NAME.keySet());
  }

  /**
   * The module called {@code kind} (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj).
   */
  public Module module(String kind) {
    return switch (kind) {
      case "q_proj", "o_proj" -> new Module(kind, "self_attn", hidden, hidden);
      case "k_proj", "v_proj" -> new Module(kind, "self_attn", hidden, kvDim);
      case "gate_proj", "up_proj" -> new Module(kind, "mlp", hidden, intermediate);
      case "down_proj" -> new Module(kind, "mlp", intermediate, hidden);
      default -> throw new IllegalArgumentException("no module " + kind + " in " + name);
    };
  }
}
