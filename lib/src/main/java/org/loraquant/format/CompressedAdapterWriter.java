package org.loraquant.format;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.loraquant.io.FileIO;
import org.loraquant.io.OwnedFolder;
import org.loraquant.safetensors.SafetensorsWriter;

/**
 * Writes a compressed adapter folder (format version 1 for the paper mode, 2 for the budget mode,
 * see docs/FORMAT.md). Output is deterministic: the same adapter gives byte-identical files.
 *
 * <p>Writes are safe against crashes: the manifest is always written last and readers treat a
 * folder without one as absent. Where the file system renames directories atomically the folder
 * is staged beside the target and moved into place, so a partial folder never appears under the
 * target name at all; on object stores it is written in place, manifest last ({@link
 * OwnedFolder}).
 */
public final class CompressedAdapterWriter {
  static final ObjectMapper JSON = JsonOutput.indented();

  private static final ObjectMapper COMPACT = new ObjectMapper();

  private CompressedAdapterWriter() {}

  /** The bytes of {@link CompressedFormat#MODEL_FILE}. */
  public static byte[] modelBytes(CompressedAdapter adapter) throws IOException {
    return modelWriter(adapter).toByteArray();
  }

  static SafetensorsWriter modelWriter(CompressedAdapter adapter) throws IOException {
    SafetensorsWriter w = new SafetensorsWriter();
    w.metadata(CompressedFormat.META_FORMAT, CompressedFormat.FORMAT_NAME);
    int version = adapter.formatVersion();
    w.metadata(CompressedFormat.META_FORMAT_VERSION, Integer.toString(version));
    Map<String, Object> modules = new LinkedHashMap<>();
    Set<String> layerTensors = new HashSet<>();
    for (CompressedAdapter.Layer layer : adapter.layers()) {
      SourceFactors s = layer.source();
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("lora_A", s.loraAName());
      entry.put("dtype_A", s.dtypeA().name());
      entry.put("shape_A", s.shapeA());
      entry.put("lora_B", s.loraBName());
      entry.put("dtype_B", s.dtypeB().name());
      entry.put("shape_B", s.shapeB());
      if (modules.put(layer.module(), entry) != null) {
        throw new IllegalArgumentException("module " + layer.module() + " appears twice");
      }
      if (layer.formatVersion() != version) {
        throw new IllegalArgumentException("module " + layer.module() + " is a format version "
            + layer.formatVersion() + " layer in a version " + version + " adapter");
      }
      for (NamedTensor t : layer.tensors()) {
        w.add(t.name(), t.dtype(), t.shape(), t.data());
        layerTensors.add(t.name());
      }
    }
    for (NamedTensor t : adapter.passThrough()) {
      if (CompressedLayerLayout.isLayerTensor(t.name())) {
        throw new IllegalArgumentException("pass-through tensor " + t.name()
            + " has a name reserved for compressed layers ('" + CompressedLayerLayout.SUFFIX + "')");
      }
      w.add(t.name(), t.dtype(), t.shape(), t.data());
    }
    w.metadata(CompressedFormat.META_MODULES, compact(modules));
    w.metadata(CompressedFormat.META_SOURCE_METADATA, compact(new java.util.TreeMap<>(adapter.sourceMetadata())));
    return w;
  }

  /** The bytes of the compressed folder's adapter_config.json: the source config plus our block. */
  public static byte[] configBytes(CompressedAdapter adapter) throws IOException {
    ObjectNode config = adapter.config().deepCopy();
    config.remove(CompressedFormat.CONFIG_BLOCK);
    ObjectNode block = config.putObject(CompressedFormat.CONFIG_BLOCK);
    block.put("quant_method", CompressedFormat.FORMAT_NAME);
    block.put("format_version", adapter.formatVersion());
    block.put("model_file", CompressedFormat.MODEL_FILE);
    block.setAll(adapter.codec());
    return JSON.writeValueAsBytes(config);
  }

  /**
   * The files of a compressed folder, in write order: the model first (its name is ours alone, so
   * it is what proves a folder ours, and it is deleted last), the manifest last (completion).
   */
  public static final OwnedFolder.Layout LAYOUT =
      new OwnedFolder.Layout(
          "compress",
          List.of(CompressedFormat.MODEL_FILE, CompressedFormat.CONFIG_FILE, CompressedFormat.MANIFEST_FILE),
          Set.of(CompressedFormat.MODEL_FILE, CompressedFormat.MANIFEST_FILE));

  /**
   * Writes the folder at {@code dir}, replacing a previous compressed output there, with {@code
   * manifest} (JSON bytes chosen by the caller: fingerprints, stats) as the completion marker.
   * Only our three files are ever replaced (see {@link OwnedFolder}): other entries of the folder,
   * such as a nested adapter's output, stay as they are.
   *
   * @return bytes written: the three files together, i.e. the size of the folder
   * @throws org.loraquant.errors.LoraQuantException if {@code dir} is a file or holds an {@code
   *     adapter_config.json} that is not ours; nothing is touched then
   */
  public static long write(FileIO io, String dir, CompressedAdapter adapter, byte[] manifest) throws IOException {
    return write(io, dir, adapter, manifest, null);
  }

  /**
   * As {@link #write(FileIO, String, CompressedAdapter, byte[])}, with what {@code dir} held
   * already known to the caller (see {@link OwnedFolder#write(FileIO, String, OwnedFolder.Layout,
   * Map, OwnedFolder.Contents)}), or null to look.
   */
  public static long write(
      FileIO io, String dir, CompressedAdapter adapter, byte[] manifest, OwnedFolder.Contents known)
      throws IOException {
    return write(io, dir, adapter, manifest, known, null);
  }

  /**
   * As {@link #write(FileIO, String, CompressedAdapter, byte[], OwnedFolder.Contents)}, the model
   * and config written together on {@code together} where the folder is written in place (see
   * {@link OwnedFolder#write(FileIO, String, OwnedFolder.Layout, Map, OwnedFolder.Contents,
   * java.util.concurrent.Executor)}); null: one after another.
   */
  public static long write(
      FileIO io, String dir, CompressedAdapter adapter, byte[] manifest, OwnedFolder.Contents known,
      java.util.concurrent.Executor together)
      throws IOException {
    byte[] model = modelBytes(adapter);
    byte[] config = configBytes(adapter);
    OwnedFolder.write(io, dir, LAYOUT, Map.of(
        CompressedFormat.MODEL_FILE, model,
        CompressedFormat.CONFIG_FILE, config,
        CompressedFormat.MANIFEST_FILE, manifest), known, together);
    return (long) model.length + config.length + manifest.length;
  }

  private static String compact(Object value) throws IOException {
    return COMPACT.writeValueAsString(value);
  }
}
