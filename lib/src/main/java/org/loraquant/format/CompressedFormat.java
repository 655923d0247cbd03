package org.loraquant.format;

/**
 * Constants of the compressed adapter folder, format versions 1 and 2. The byte layout of one layer is
 * owned by {@link CompressedLayerLayout}; docs/FORMAT.md is the full specification.
 *
 * <pre>
 * OUT_DIR/
 *   adapter_config.json            the source config, every key kept, plus "loraquant": {...}
 *   loraquant_model.safetensors    per LoRA module: packed tiers; pass-through tensors as they came
 *   loraquant_manifest.json        written LAST: its presence marks the folder complete
 * </pre>
 */
public final class CompressedFormat {
  private CompressedFormat() {}

  /** The version the paper mode writes (two fixed tiers per layer, {@link CompressedLayerLayout}). */
  public static final int FORMAT_VERSION = 1;

  /**
   * The version the budget mode writes: per-component widths, level family and CRC-32C per layer
   * ({@link BudgetLayerLayout}). Readers accept exactly {@link #FORMAT_VERSION} and this.
   */
  public static final int BUDGET_FORMAT_VERSION = 2;

  /** Config block key {@code mode} and its value in a version 2 folder (absent in version 1). */
  public static final String CONFIG_MODE = "mode";
  public static final String MODE_BUDGET = "budget";

  /** Value of {@code __metadata__["format"]} and of the config block's "quant_method". */
  public static final String FORMAT_NAME = "loraquant";

  public static final String CONFIG_FILE = "adapter_config.json";
  public static final String MODEL_FILE = "loraquant_model.safetensors";
  public static final String MANIFEST_FILE = "loraquant_manifest.json";

  /** Key of the block added to adapter_config.json; removed again on decompression. */
  public static final String CONFIG_BLOCK = "loraquant";
  /** Config block key of the settings fingerprint (both versions). */
  public static final String SETTINGS_FINGERPRINT_KEY = "settings_fingerprint";

  /** {@code __metadata__} keys of the compressed safetensors file. */
  public static final String META_FORMAT = "format";
  public static final String META_FORMAT_VERSION = "format_version";
  /** JSON object: module path to the source tensor names, dtypes and shapes (see FORMAT.md). */
  public static final String META_MODULES = "loraquant.modules";
  /** JSON object: the source file's own {@code __metadata__}, restored on decompression. */
  public static final String META_SOURCE_METADATA = "loraquant.source_metadata";
}
