package org.loraquant.compress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.loraquant.codec.DecodedLayer;
import org.loraquant.codec.LoraFactors;
import org.loraquant.format.CompressedAdapter;

/**
 * {@code decompress --trim-rank} (README, "decompress"): each layer's factors at the rank it
 * stores instead of its original rank. Components that decode to zero columns of B^ and rows of
 * A^ (dropped by the budget mode, or missing because k < rank) are left out, so B^ A^ is the
 * same product in fewer numbers. PEFT takes a layer's rank from the config: {@code r} becomes the
 * largest kept rank and {@code rank_pattern} names every layer's; and since PEFT scales a layer by
 * lora_alpha / r (lora_alpha / sqrt(r) with rsLoRA), {@code alpha_pattern} gives every layer the
 * alpha that keeps its original scale.
 */
final class RankTrim {
  /** PEFT's default lora_alpha, used when the config has none. */
  private static final double PEFT_DEFAULT_ALPHA = 8;
  /** The prefix PEFT puts before a module's name in the base model (its pattern keys omit it). */
  private static final String PEFT_PREFIX = "base_model.model.";

  private RankTrim() {}

  /**
   * Indices of the components of the layer that are stored with data; at least one (index 0), as
   * PEFT refuses rank 0: a layer without stored components keeps one zero component.
   */
  static int[] keptComponents(CompressedAdapter.Layer layer) {
    int k = layer.budget() != null ? layer.budget().k() : layer.layer().k();
    List<Integer> kept = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      if (layer.budget() == null || layer.budget().widths()[i] > 0) {
        kept.add(i);
      }
    }
    if (kept.isEmpty()) {
      kept.add(0);
    }
    return kept.stream().mapToInt(Integer::intValue).toArray();
  }

  /** B^ (m x p) and A^ (p x n) of the kept components, row-major. */
  static LoraFactors factors(DecodedLayer d, int[] kept) {
    int p = kept.length;
    float[] b = new float[Math.multiplyExact(d.m(), p)];
    float[] a = new float[Math.multiplyExact(p, d.n())];
    for (int j = 0; j < p; j++) {
      int i = kept[j];
      if (i >= d.k()) {
        continue; // a zero component (the layer stores none)
      }
      for (int x = 0; x < d.m(); x++) {
        b[x * p + j] = d.b()[x * d.k() + i];
      }
      System.arraycopy(d.a(), i * d.n(), a, j * d.n(), d.n());
    }
    return new LoraFactors(d.m(), d.n(), p, b, a);
  }

  /** The source shape of lora_B ([out, r, ...]) or lora_A ([r, in, ...]) at rank p. */
  static long[] shape(long[] source, boolean loraB, int p) {
    long[] shape = source.clone();
    shape[loraB ? 1 : 0] = p;
    return shape;
  }

  /**
   * Writes {@code r}, {@code rank_pattern} and {@code alpha_pattern} for the kept ranks into the
   * PEFT config. Pattern keys are the modules' names as PEFT matches them (without
   * {@code base_model.model.}), longest first: PEFT takes the first key that is a dotted suffix of
   * a module's name, and a module's own name is the longest such key.
   */
  static void rewriteConfig(ObjectNode config, List<CompressedAdapter.Layer> layers, Map<String, Integer> ranks) {
    double alpha = config.path("lora_alpha").isNumber() ? config.get("lora_alpha").doubleValue() : PEFT_DEFAULT_ALPHA;
    boolean rslora = config.path("use_rslora").asBoolean(false);
    Map<String, Double> sourceAlphas = new LinkedHashMap<>();
    JsonNode sourcePattern = config.path("alpha_pattern");
    for (Iterator<Map.Entry<String, JsonNode>> it = sourcePattern.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isNumber()) {
        sourceAlphas.put(e.getKey(), e.getValue().doubleValue());
      }
    }
    List<CompressedAdapter.Layer> sorted = new ArrayList<>(layers);
    sorted.sort(Comparator.comparing((CompressedAdapter.Layer l) -> peftKey(l.module()).length()).reversed()
        .thenComparing(l -> peftKey(l.module())));
    ObjectNode rankPattern = config.objectNode();
    ObjectNode alphaPattern = config.objectNode();
    int largest = 1;
    for (CompressedAdapter.Layer l : sorted) {
      String key = peftKey(l.module());
      int p = ranks.get(l.module());
      largest = Math.max(largest, p);
      double original = sourceAlpha(sourceAlphas, key, alpha);
      double ratio = (double) p / l.rank();
      rankPattern.put(key, p);
      alphaPattern.put(key, original * (rslora ? Math.sqrt(ratio) : ratio));
    }
    config.put("r", largest);
    config.set("rank_pattern", rankPattern);
    config.set("alpha_pattern", alphaPattern);
  }

  static String peftKey(String module) {
    return module.startsWith(PEFT_PREFIX) ? module.substring(PEFT_PREFIX.length()) : module;
  }

  /** The module's alpha as PEFT resolves it: the first matching alpha_pattern key, else lora_alpha. */
  private static double sourceAlpha(Map<String, Double> pattern, String key, double alpha) {
    for (Map.Entry<String, Double> e : pattern.entrySet()) {
      try {
        if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(key).matches()) {
          return e.getValue();
        }
      } catch (java.util.regex.PatternSyntaxException notARegex) {
        // PEFT could not match it either
      }
    }
    return alpha;
  }
}
