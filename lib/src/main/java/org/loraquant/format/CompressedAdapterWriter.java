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
import org.loraquant.io.FolderPaths;
import org.loraquant.io.FileWrites;
import org.loraquant.safetensors.SafetensorsWriter;

/**
 * Writes a compressed adapter folder (format version 1 for the paper mode, 2 for the budget mode,
 * see docs/FORMAT.md). Output is deterministic: the same adapter gives byte-identical files.
 *
 * <p>Writes are safe against crashes: the manifest is always written last and readers treat a
 * folder without one as absent. Where the file system renames directories atomically the folder
 * is staged beside the target and moved into place, so a partial folder never appears under the
 * target name at all; on object stores it is written in place, manifest last.
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
   * Writes the folder at {@code dir}, replacing a previous one, with {@code manifest} (JSON bytes
   * chosen by the caller: fingerprints, stats) as the completion marker.
   *
   * @return bytes written: the three files together, i.e. the size of the folder
   */
  public static long write(FileIO io, String dir, CompressedAdapter adapter, byte[] manifest) throws IOException {
    byte[] model = modelBytes(adapter);
    byte[] config = configBytes(adapter);
    String target = FolderPaths.withoutTrailingSlash(dir);
    if (io.atomicDirectoryRename()) {
      // A failure while staging leaves the previous output untouched and still valid.
      String staging = FolderPaths.stagingSibling(target);
      try {
        writeFiles(io, staging, model, config, manifest);
        // Deleting a folder is not atomic: the manifest goes first so that a crash half-way
        // through never leaves a manifest next to missing files.
        io.deleteRecursively(target + "/" + CompressedFormat.MANIFEST_FILE);
        io.deleteRecursively(target);
        io.renameDirectory(staging, target);
      } finally {
        io.deleteRecursively(staging);
      }
    } else {
      // Whatever was there stops counting as complete before anything of it changes.
      io.deleteRecursively(target + "/" + CompressedFormat.MANIFEST_FILE);
      writeFiles(io, target, model, config, manifest);
    }
    return (long) model.length + config.length + manifest.length;
  }

  private static void writeFiles(FileIO io, String dir, byte[] model, byte[] config, byte[] manifest) throws IOException {
    io.mkdirs(dir);
    writeFile(io, dir + "/" + CompressedFormat.MODEL_FILE, model);
    writeFile(io, dir + "/" + CompressedFormat.CONFIG_FILE, config);
    writeFile(io, dir + "/" + CompressedFormat.MANIFEST_FILE, manifest);
  }

  static void writeFile(FileIO io, String path, byte[] bytes) throws IOException {
    FileWrites.write(io, path, bytes);
  }

  private static String compact(Object value) throws IOException {
    return COMPACT.writeValueAsString(value);
  }

  static List<String> fileNames() {
    return List.of(CompressedFormat.CONFIG_FILE, CompressedFormat.MODEL_FILE, CompressedFormat.MANIFEST_FILE);
  }
}
