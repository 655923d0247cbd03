package org.loraquant.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.loraquant.codec.CompressedLayer;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.FileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.InputFile;
import org.loraquant.io.IoErrors;
import org.loraquant.io.JsonFiles;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.SafetensorsReader;
import org.loraquant.safetensors.TensorInfo;

/**
 * Reads a compressed adapter folder written by {@link CompressedAdapterWriter}. Refuses, naming
 * the file and the tensor: a folder without its manifest (incomplete), another format or version,
 * a missing or mis-sized tensor.
 */
public final class CompressedAdapterReader {
  private static final ObjectMapper JSON = new ObjectMapper();

  private CompressedAdapterReader() {}

  /** A compressed folder's content and the raw bytes of its manifest. */
  public record Loaded(CompressedAdapter adapter, byte[] manifest) {}

  /** True if {@code dir} holds a complete compressed adapter (its manifest is there). */
  public static boolean isComplete(FileIO io, String dir) throws IOException {
    return io.exists(FolderPaths.withoutTrailingSlash(dir) + "/" + CompressedFormat.MANIFEST_FILE);
  }

  /**
   * The manifest's bytes, after checking its format and version.
   *
   * @throws IncompleteAdapterException if the folder has no manifest but is empty or holds our
   *     model file (an interrupted write)
   * @throws InvalidAdapterException if the folder is not a compressed adapter at all, or the
   *     manifest names another format or version
   */
  public static byte[] readManifest(FileIO io, String dir) {
    String folder = FolderPaths.withoutTrailingSlash(dir);
    String path = folder + "/" + CompressedFormat.MANIFEST_FILE;
    try {
      if (!io.exists(path)) {
        throw missingManifest(io, folder, path);
      }
      byte[] manifest = readSmallFile(io.newInputFile(path));
      ObjectNode root = parseObject(path, manifest);
      checkFormat(path, root.get("format"), root.get("format_version"));
      return manifest;
    } catch (IOException e) {
      throw IoErrors.cannotRead(path, e);
    }
  }

  private static InvalidAdapterException missingManifest(FileIO io, String folder, String path)
      throws IOException {
    List<String> names = io.list(folder);
    if (names.isEmpty() && !io.exists(folder)) {
      return new InvalidAdapterException(folder, null, "no such compressed adapter folder");
    }
    // An empty folder or one with our model file is what an interrupted writer leaves.
    if (names.isEmpty() || names.contains(CompressedFormat.MODEL_FILE)) {
      return new IncompleteAdapterException(path, null, "missing: " + folder
          + " is not a complete compressed adapter (written by an interrupted run?); compress again");
    }
    return new InvalidAdapterException(folder, null, "not a loraquant compressed adapter: it has no "
        + CompressedFormat.MANIFEST_FILE + " and no " + CompressedFormat.MODEL_FILE
        + (names.contains(CompressedFormat.CONFIG_FILE) ? " (a plain PEFT adapter? compress it first)" : ""));
  }

  public static Loaded read(FileIO io, String dir) {
    String folder = FolderPaths.withoutTrailingSlash(dir);
    byte[] manifest = readManifest(io, folder);
    String configPath = folder + "/" + CompressedFormat.CONFIG_FILE;
    String modelPath = folder + "/" + CompressedFormat.MODEL_FILE;
    ObjectNode config;
    try {
      requireFile(io, configPath);
      requireFile(io, modelPath);
      config = parseObject(configPath, readSmallFile(io.newInputFile(configPath)));
    } catch (IOException e) {
      throw IoErrors.cannotRead(configPath, e);
    }
    JsonNode block = config.remove(CompressedFormat.CONFIG_BLOCK);
    if (block == null || !block.isObject()) {
      throw new InvalidAdapterException(configPath, null, "no '" + CompressedFormat.CONFIG_BLOCK
          + "' block: this is not a loraquant compressed adapter");
    }
    ObjectNode codec = ((ObjectNode) block).deepCopy();
    checkFormat(configPath + " \"" + CompressedFormat.CONFIG_BLOCK + "\"", codec.get("quant_method"),
        codec.get("format_version"));
    codec.remove(List.of("quant_method", "format_version", "model_file"));

    SafetensorsReader model = SafetensorsReader.open(io.newInputFile(modelPath));
    Map<String, String> meta = model.header().metadata();
    checkMetadataFormat(modelPath, meta);
    ObjectNode modules = metadataObject(modelPath, meta, CompressedFormat.META_MODULES);
    ObjectNode sourceMetaNode = metadataObject(modelPath, meta, CompressedFormat.META_SOURCE_METADATA);
    Map<String, String> sourceMetadata = new LinkedHashMap<>();
    sourceMetaNode.fields().forEachRemaining(e -> sourceMetadata.put(e.getKey(), e.getValue().asText()));

    List<CompressedAdapter.Layer> layers = readLayers(model, modelPath, modules);
    List<NamedTensor> passThrough = readPassThrough(model, modelPath, modules, layers);
    return new Loaded(new CompressedAdapter(config, codec, sourceMetadata, layers, passThrough), manifest);
  }

  private static List<CompressedAdapter.Layer> readLayers(SafetensorsReader model, String modelPath, ObjectNode modules) {
    List<CompressedAdapter.Layer> layers = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = modules.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String module = e.getKey();
      SourceFactors source = sourceFactors(modelPath, module, e.getValue());
      CompressedLayer layer = CompressedLayerLayout.fromTensors(module, name -> tensorOrNull(model, name), modelPath);
      checkSourceShapes(modelPath, module, source, layer);
      layers.add(new CompressedAdapter.Layer(module, source, layer));
    }
    return layers;
  }

  /**
   * Every tensor that is not part of a layer. Each layer tensor must be one the layers' layouts
   * have: anything else means a writer this reader does not understand.
   */
  private static List<NamedTensor> readPassThrough(SafetensorsReader model, String modelPath, ObjectNode modules,
      List<CompressedAdapter.Layer> layers) {
    Set<String> layerTensors = new HashSet<>();
    Set<String> sourceNames = new HashSet<>();
    for (CompressedAdapter.Layer l : layers) {
      for (NamedTensor t : CompressedLayerLayout.toTensors(l.module(), l.layer())) {
        layerTensors.add(t.name());
      }
      sourceNames.add(l.source().loraAName());
      sourceNames.add(l.source().loraBName());
    }
    List<NamedTensor> passThrough = new ArrayList<>();
    for (TensorInfo t : model.header().tensors()) {
      if (!CompressedLayerLayout.isLayerTensor(t.name())) {
        if (sourceNames.contains(t.name())) {
          throw new InvalidAdapterException(modelPath, t.name(),
              "stored as a pass-through tensor but also named as a LoRA factor in " + CompressedFormat.META_MODULES);
        }
        passThrough.add(new NamedTensor(t.name(), t.dtype(), t.shape(), model.readBytes(t)));
      } else if (!belongsToListedModule(t.name(), modules)) {
        throw new InvalidAdapterException(modelPath, t.name(), "layer tensor of a module that "
            + CompressedFormat.META_MODULES + " does not list");
      } else if (!layerTensors.contains(t.name())) {
        throw new InvalidAdapterException(modelPath, t.name(),
            "not part of its layer's layout (e.g. a tier beyond the meta's tier count)");
      }
    }
    return passThrough;
  }

  private static boolean belongsToListedModule(String tensorName, ObjectNode modules) {
    // The suffix after the module never contains ".lq.", so the last occurrence ends the module.
    int at = tensorName.lastIndexOf(CompressedLayerLayout.SUFFIX);
    return modules.has(tensorName.substring(0, at));
  }

  private static NamedTensor tensorOrNull(SafetensorsReader model, String name) {
    if (!model.header().contains(name)) {
      return null;
    }
    TensorInfo t = model.header().tensor(name);
    return new NamedTensor(name, t.dtype(), t.shape(), model.readBytes(t));
  }

  private static SourceFactors sourceFactors(String file, String module, JsonNode n) {
    String where = file + " __metadata__[" + CompressedFormat.META_MODULES + "]";
    return new SourceFactors(
        text(where, module, n, "lora_A"), dtype(where, module, n, "dtype_A"), shape(where, module, n, "shape_A"),
        text(where, module, n, "lora_B"), dtype(where, module, n, "dtype_B"), shape(where, module, n, "shape_B"));
  }

  private static String text(String where, String module, JsonNode n, String key) {
    JsonNode v = n.get(key);
    if (v == null || !v.isTextual()) {
      throw new InvalidAdapterException(where, module, "missing string '" + key + "'");
    }
    return v.asText();
  }

  private static DType dtype(String where, String module, JsonNode n, String key) {
    DType d = DType.parseOrNull(text(where, module, n, key));
    if (d == null || !d.isLoraFloat()) {
      throw new InvalidAdapterException(where, module, "'" + key + "' is " + n.get(key) + ", expected F32, F16 or BF16");
    }
    return d;
  }

  private static long[] shape(String where, String module, JsonNode n, String key) {
    JsonNode v = n.get(key);
    if (v == null || !v.isArray() || v.size() < 2) {
      throw new InvalidAdapterException(where, module, "'" + key + "' must be an array of at least 2 dimensions");
    }
    long[] shape = new long[v.size()];
    for (int i = 0; i < shape.length; i++) {
      if (!v.get(i).canConvertToLong() || v.get(i).asLong() < 0) {
        throw new InvalidAdapterException(where, module, "'" + key + "' has a bad dimension " + v.get(i));
      }
      shape[i] = v.get(i).asLong();
    }
    return shape;
  }

  /** The JSON form (config block, manifest): format a string, format_version the integer 1. */
  private static void checkFormat(String where, JsonNode format, JsonNode version) {
    if (format == null || !format.isTextual() || !CompressedFormat.FORMAT_NAME.equals(format.textValue())) {
      throw new InvalidAdapterException(where, null, "format is " + format + ", expected \""
          + CompressedFormat.FORMAT_NAME + "\": not a loraquant compressed adapter");
    }
    if (version == null || !version.isIntegralNumber() || version.asLong() != CompressedFormat.FORMAT_VERSION) {
      throw unsupportedVersion(where, String.valueOf(version));
    }
  }

  /** The safetensors form: {@code __metadata__} values are strings. */
  private static void checkMetadataFormat(String modelPath, Map<String, String> meta) {
    String where = modelPath + " __metadata__";
    String format = meta.get(CompressedFormat.META_FORMAT);
    if (!CompressedFormat.FORMAT_NAME.equals(format)) {
      throw new InvalidAdapterException(where, null, "format is " + (format == null ? "missing" : "'" + format + "'")
          + ", expected '" + CompressedFormat.FORMAT_NAME + "': not a loraquant compressed adapter");
    }
    String version = meta.get(CompressedFormat.META_FORMAT_VERSION);
    if (!Integer.toString(CompressedFormat.FORMAT_VERSION).equals(version)) {
      throw unsupportedVersion(where, version == null ? "missing" : "'" + version + "'");
    }
  }

  private static InvalidAdapterException unsupportedVersion(String where, String found) {
    return new InvalidAdapterException(where, null, "unsupported format version " + found
        + "; this version of loraquant reads version " + CompressedFormat.FORMAT_VERSION
        + " (a newer loraquant wrote it?)");
  }

  private static ObjectNode metadataObject(String modelPath, Map<String, String> meta, String key) {
    String where = modelPath + " __metadata__[" + key + "]";
    String json = meta.get(key);
    if (json == null) {
      throw new InvalidAdapterException(where, null, "missing");
    }
    return parseObject(where, json.getBytes(StandardCharsets.UTF_8));
  }

  /** The source shapes must multiply out to the layer's m x rank and rank x n. */
  private static void checkSourceShapes(String file, String module, SourceFactors s, CompressedLayer layer) {
    long[] a = s.shapeA();
    long[] b = s.shapeB();
    long aRest = 1;
    for (int i = 1; i < a.length; i++) {
      aRest *= a[i];
    }
    long bRest = 1;
    for (int i = 2; i < b.length; i++) {
      bRest *= b[i];
    }
    if (b[0] != layer.m() || b[1] != layer.rank() || bRest != 1 || a[0] != layer.rank() || aRest != layer.n()) {
      throw new InvalidAdapterException(file + " __metadata__[" + CompressedFormat.META_MODULES + "]", module,
          "shape_A " + Arrays.toString(a) + " / shape_B " + Arrays.toString(b) + " do not match the layer's meta m="
              + layer.m() + " n=" + layer.n() + " rank=" + layer.rank());
    }
  }

  private static void requireFile(FileIO io, String path) throws IOException {
    if (!io.exists(path)) {
      throw new InvalidAdapterException(path, null, "missing from the compressed adapter folder");
    }
  }

  private static ObjectNode parseObject(String where, byte[] json) {
    try {
      JsonNode node = JSON.readTree(json);
      if (node == null || !node.isObject()) {
        throw new InvalidAdapterException(where, null, "expected a JSON object");
      }
      return (ObjectNode) node;
    } catch (IOException e) {
      throw new InvalidAdapterException(where, null, "malformed JSON: " + e.getMessage());
    }
  }

  static byte[] readSmallFile(InputFile file) throws IOException {
    return JsonFiles.read(file);
  }
}
