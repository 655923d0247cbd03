package org.loraquant.peft;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tensor name recognised as one factor of a LoRA pair. PEFT saves linear and conv factors as
 * {@code <module>.lora_A.weight} (older or multi-adapter saves as {@code
 * <module>.lora_A.<adapter>.weight}) and embedding factors as {@code <module>.lora_embedding_A}
 * (optionally {@code .<adapter>}); the same for B.
 */
record LoraKey(String module, boolean isA, String adapterName) {
  private static final Pattern LINEAR =
      Pattern.compile("^(.+)\\.lora_([AB])(?:\\.([A-Za-z0-9_\\-]+))?\\.weight$");
  private static final Pattern EMBEDDING =
      Pattern.compile("^(.+)\\.lora_embedding_([AB])(?:\\.([A-Za-z0-9_\\-]+))?$");

  /** The key this tensor name stands for, or null if it is not a LoRA factor (a pass-through). */
  static LoraKey parseOrNull(String tensorName) {
    Matcher m = LINEAR.matcher(tensorName);
    if (!m.matches()) {
      m = EMBEDDING.matcher(tensorName);
      if (!m.matches()) {
        return null;
      }
    }
    return new LoraKey(m.group(1), m.group(2).equals("A"), m.group(3));
  }

  /** Which factor, as PEFT calls it. */
  String factorName() {
    return isA ? "lora_A" : "lora_B";
  }
}
