package org.loraquant.format;

/**
 * Constants of the compressed adapter folder, format version 1. The byte layout of one layer is
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

  /** The one format version this code writes and reads. */
  public static final int FORMAT_VERSION = 1;

  /** Value of {@code __metadata__["format"]} and of the config block's "quant_method". */
  public static final String FORMAT_NAME = "loraquant";

  public static final String CONFIG_FILE = "adapter_config.json";
  public static final String MODEL_FILE = "loraquant_model.safetensors";
  public static final String MANIFEST_FILE = "loraquant_manifest.json";

  /** Key of the block added to adapter_config.json; removed again on decompression. */
  public static final String CONFIG_BLOCK = "loraquant";

  /** {@code __metadata__} keys of the compressed safetensors file. */
  public static final String META_FORMAT = "format";
  public static final String META_FORMAT_VERSION = "format_version";
  /** JSON object: module path to the source tensor names, dtypes and shapes (see FORMAT.md). */
  public static final String META_MODULES = "loraquant.modules";
  /** JSON object: the source file's own {@code __metadata__}, restored on decompression. */
  public static final String META_SOURCE_METADATA = "loraquant.source_metadata";
}
