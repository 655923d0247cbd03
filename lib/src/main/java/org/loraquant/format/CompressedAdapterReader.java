package org.loraquant.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.loraquant.codec.CompressedLayer;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.FileIO;
import org.loraquant.io.InputFile;
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
  private static final long MAX_SMALL_FILE_BYTES = 256L * 1024 * 1024;

  private CompressedAdapterReader() {}

  /** A compressed folder's content and the raw bytes of its manifest. */
  public record Loaded(CompressedAdapter adapter, byte[] manifest) {}

  /** True if {@code dir} holds a complete compressed adapter (its manifest is there). */
  public static boolean isComplete(FileIO io, String dir) throws IOException {
    return io.exists(strip(dir) + "/" + CompressedFormat.MANIFEST_FILE);
  }

  public static byte[] readManifest(FileIO io, String dir) {
    String folder = strip(dir);
    String path = folder + "/" + CompressedFormat.MANIFEST_FILE;
    try {
      if (!io.exists(path)) {
        throw new IncompleteAdapterException(path, null,
            "missing: " + folder + " is not a complete compressed adapter (written by an interrupted run?)");
      }
      return readSmallFile(io.newInputFile(path));
    } catch (IOException e) {
      throw new UncheckedIOException(path + ": " + e.getMessage(), e);
    }
  }

  public static Loaded read(FileIO io, String dir) {
    String folder = strip(dir);
    byte[] manifest = readManifest(io, folder);
    String configPath = folder + "/" + CompressedFormat.CONFIG_FILE;
    String modelPath = folder + "/" + CompressedFormat.MODEL_FILE;
    ObjectNode config;
    try {
      config = parseObject(configPath, readSmallFile(io.newInputFile(configPath)));
    } catch (IOException e) {
      throw new UncheckedIOException(configPath + ": " + e.getMessage(), e);
    }
    JsonNode block = config.remove(CompressedFormat.CONFIG_BLOCK);
    if (block == null || !block.isObject()) {
      throw new InvalidAdapterException(configPath, null, "no '" + CompressedFormat.CONFIG_BLOCK
          + "' block: this is not a loraquant compressed adapter");
    }
    ObjectNode codec = ((ObjectNode) block).deepCopy();
    checkFormat(configPath, codec.path("quant_method").asText(), codec.path("format_version").asText());
    codec.remove(List.of("quant_method", "format_version", "model_file"));

    SafetensorsReader model = SafetensorsReader.open(io.newInputFile(modelPath));
    Map<String, String> meta = model.header().metadata();
    checkFormat(modelPath, meta.get(CompressedFormat.META_FORMAT), meta.get(CompressedFormat.META_FORMAT_VERSION));
    ObjectNode modules = parseObject(modelPath + " __metadata__[" + CompressedFormat.META_MODULES + "]",
        bytes(meta.get(CompressedFormat.META_MODULES)));
    ObjectNode sourceMetaNode = parseObject(modelPath + " __metadata__[" + CompressedFormat.META_SOURCE_METADATA + "]",
        bytes(meta.get(CompressedFormat.META_SOURCE_METADATA)));
    Map<String, String> sourceMetadata = new LinkedHashMap<>();
    sourceMetaNode.fields().forEachRemaining(e -> sourceMetadata.put(e.getKey(), e.getValue().asText()));

    List<CompressedAdapter.Layer> layers = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = modules.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String module = e.getKey();
      SourceFactors source = sourceFactors(modelPath, module, e.getValue());
      CompressedLayer layer = CompressedLayerLayout.fromTensors(module, name -> tensorOrNull(model, name), modelPath);
      layers.add(new CompressedAdapter.Layer(module, source, layer));
    }
    List<NamedTensor> passThrough = new ArrayList<>();
    for (TensorInfo t : model.header().tensors()) {
      if (!CompressedLayerLayout.isLayerTensor(t.name())) {
        passThrough.add(new NamedTensor(t.name(), t.dtype(), t.shape(), model.readBytes(t)));
      } else if (!belongsToListedModule(t.name(), modules)) {
        throw new InvalidAdapterException(modelPath, t.name(), "layer tensor of a module that "
            + CompressedFormat.META_MODULES + " does not list");
      }
    }
    return new Loaded(new CompressedAdapter(config, codec, sourceMetadata, layers, passThrough), manifest);
  }

  private static boolean belongsToListedModule(String tensorName, ObjectNode modules) {
    int at = tensorName.indexOf(CompressedLayerLayout.SUFFIX);
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

  private static void checkFormat(String file, String format, String version) {
    if (!CompressedFormat.FORMAT_NAME.equals(format)) {
      throw new InvalidAdapterException(file, null, "format is '" + format + "', expected '"
          + CompressedFormat.FORMAT_NAME + "': not a loraquant compressed adapter");
    }
    if (!Integer.toString(CompressedFormat.FORMAT_VERSION).equals(version)) {
      throw new InvalidAdapterException(file, null, "unsupported format version '" + version
          + "'; this version of loraquant reads version " + CompressedFormat.FORMAT_VERSION);
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

  private static byte[] bytes(String s) {
    return s == null ? "null".getBytes(java.nio.charset.StandardCharsets.UTF_8)
        : s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  static byte[] readSmallFile(InputFile file) throws IOException {
    long length = file.length();
    if (length > MAX_SMALL_FILE_BYTES) {
      throw new InvalidAdapterException(file.location(), null, length + " bytes is too large for a JSON file");
    }
    return file.read(0, (int) length);
  }

  private static String strip(String dir) {
    return dir.length() > 1 && dir.endsWith("/") ? dir.substring(0, dir.length() - 1) : dir;
  }
}
