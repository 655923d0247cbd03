package org.loraquant.compress;

import java.util.List;
import java.util.Set;

/** What a module path says about the layer: its kind (q_proj, ...) and its block index. */
public final class ModuleNames {
  private ModuleNames() {}

  /** Segments after which a number is the index of a transformer block. */
  private static final Set<String> BLOCK_CONTAINERS = Set.of("layers", "layer", "h", "blocks", "block");

  /**
   * The module's kind: its last segment that is not a number ({@code ...self_attn.q_proj} gives
   * {@code q_proj}; {@code ...attn1.to_out.0} gives {@code to_out}).
   */
  public static String kind(String module) {
    List<String> segments = List.of(module.split("\\."));
    for (int i = segments.size() - 1; i >= 0; i--) {
      if (!isNumber(segments.get(i))) {
        return segments.get(i);
      }
    }
    return module;
  }

  /** The block index ({@code model.layers.3.self_attn.q_proj} gives 3), or null if none. */
  public static Integer layerIndex(String module) {
    String[] segments = module.split("\\.");
    for (int i = 0; i + 1 < segments.length; i++) {
      if (BLOCK_CONTAINERS.contains(segments[i]) && isNumber(segments[i + 1])) {
        try {
          return Integer.valueOf(segments[i + 1]);
        } catch (NumberFormatException e) {
          return null;
        }
      }
    }
    return null;
  }

  private static boolean isNumber(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (!Character.isDigit(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }
}
