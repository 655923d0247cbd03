package org.loraquant.format;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.loraquant.codec.BudgetLayer;
import org.loraquant.codec.CompressedLayer;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.FileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.InputFile;
import org.loraquant.io.IoErrors;
import org.loraquant.io.JsonFiles;
import org.loraquant.peft.AdapterConfig;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.SafetensorsReader;
import org.loraquant.safetensors.TensorInfo;

/**
 * Reads a compressed adapter folder written by {@link CompressedAdapterWriter}. Refuses, naming
 * the file and the tensor: a folder without its manifest (incomplete), another format or version,
 * a missing or mis-sized tensor, and any size the stored bytes do not back (docs/FORMAT.md,
 * "What a reader checks"), so a hostile file cannot make decompression allocate more than a
 * bounded multiple of its own size.
 */
public final class CompressedAdapterReader {
  /** Strict JSON: a repeated key or anything after the value is refused, never silently resolved. */
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  /** The safetensors header key of the metadata object, never a tensor name. */
  private static final String METADATA_KEY = "__metadata__";
  /**
   * Most zero-component values (layers of rank above k, {@link CompressedLayerLayout#zeroPaddingValues})
   * an adapter may ask decompression to add: 2^24 (64 MiB as F32). Nothing in the file backs them;
   * real adapters need a few thousand (a 2-output head of rank 16 on 4096 inputs: 57,344).
   */
  public static final long MAX_ZERO_PADDING_VALUES = 1L << 24;
  /**
   * Format version 2 stores a dropped component (width 0) as one byte of the width map, and it
   * decodes to m + n zeros. Over an adapter, the zeros of dropped components may be at most
   * {@link #MAX_ZERO_PADDING_VALUES} plus this many per byte of the model file. At B effective
   * bits per parameter a file stores about B / 8 bytes per parameter, so an adapter's dropped zeros
   * stay below 8 / B per byte: 256 covers every budget from 1/32 bit up. Even the smallest form
   * the budget mode writes (each layer's first component at 2 bits, (m + n) / 4 bytes of codes,
   * all others dropped) stays within it up to rank 65. A file beyond it declares zeros out of all
   * proportion to what it stores.
   */
  public static final long MAX_DROPPED_ZEROS_PER_FILE_BYTE = 256;

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
    String manifestPath = folder + "/" + CompressedFormat.MANIFEST_FILE;
    int version = versionOf(manifestPath, parseObject(manifestPath, manifest).get("format_version"));
    String configPath = folder + "/" + CompressedFormat.CONFIG_FILE;
    String modelPath = folder + "/" + CompressedFormat.MODEL_FILE;
    ObjectNode config;
    try {
      requireFile(io, configPath);
      requireFile(io, modelPath);
      byte[] configBytes = readSmallFile(io.newInputFile(configPath));
      config = parseObject(configPath, configBytes);
      // Decompression writes the source config back: a number it would rewrite is refused here too.
      AdapterConfig.checkNumbersFitADouble(configPath, configBytes);
    } catch (IOException e) {
      throw IoErrors.cannotRead(configPath, e);
    }
    JsonNode block = config.remove(CompressedFormat.CONFIG_BLOCK);
    if (block == null || !block.isObject()) {
      throw new InvalidAdapterException(configPath, null, "no '" + CompressedFormat.CONFIG_BLOCK
          + "' block: this is not a loraquant compressed adapter");
    }
    ObjectNode codec = ((ObjectNode) block).deepCopy();
    String blockWhere = configPath + " \"" + CompressedFormat.CONFIG_BLOCK + "\"";
    requireSameVersion(blockWhere, checkFormat(blockWhere, codec.get("quant_method"), codec.get("format_version")),
        version, manifestPath);
    codec.remove(List.of("quant_method", "format_version", "model_file"));

    SafetensorsReader model = SafetensorsReader.open(io.newInputFile(modelPath));
    Map<String, String> meta = model.header().metadata();
    requireSameVersion(modelPath + " __metadata__", checkMetadataFormat(modelPath, meta), version, manifestPath);
    ObjectNode modules = metadataObject(modelPath, meta, CompressedFormat.META_MODULES);
    ObjectNode sourceMetaNode = metadataObject(modelPath, meta, CompressedFormat.META_SOURCE_METADATA);
    Map<String, String> sourceMetadata = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = sourceMetaNode.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new InvalidAdapterException(modelPath + " __metadata__[" + CompressedFormat.META_SOURCE_METADATA + "]",
            null, "value of '" + e.getKey() + "' is " + e.getValue().getNodeType() + ", expected a string");
      }
      sourceMetadata.put(e.getKey(), e.getValue().textValue());
    }

    List<CompressedAdapter.Layer> layers = readLayers(model, modelPath, modules, version);
    List<NamedTensor> passThrough = readPassThrough(model, modelPath, modules, layers);
    CompressedAdapter adapter = new CompressedAdapter(config, codec, sourceMetadata, layers, passThrough);
    // The mode key says which codec wrote the folder: it must agree with the version (v1 has none).
    if (adapter.formatVersion() != version) {
      throw new InvalidAdapterException(blockWhere, null, "'" + CompressedFormat.CONFIG_MODE + "' is "
          + codec.get(CompressedFormat.CONFIG_MODE) + " in a format version " + version + " folder (version "
          + CompressedFormat.BUDGET_FORMAT_VERSION + " has \"" + CompressedFormat.CONFIG_MODE + "\": \""
          + CompressedFormat.MODE_BUDGET + "\", version " + CompressedFormat.FORMAT_VERSION + " no such key)");
    }
    return new Loaded(adapter, manifest);
  }

  /** The three version fields of a folder (manifest, config block, model metadata) must agree. */
  private static void requireSameVersion(String where, int found, int manifestVersion, String manifestPath) {
    if (found != manifestVersion) {
      throw new InvalidAdapterException(where, null, "format version " + found + ", but " + manifestPath
          + " says version " + manifestVersion + ": the folder mixes two writers");
    }
  }

  private static List<CompressedAdapter.Layer> readLayers(SafetensorsReader model, String modelPath, ObjectNode modules,
      int version) {
    List<CompressedAdapter.Layer> layers = new ArrayList<>();
    Set<String> sourceNames = new HashSet<>();
    long zeroPadding = 0;
    long droppedZeros = 0;
    long fileBytes = fileLength(model.file());
    long droppedZerosAllowed = MAX_ZERO_PADDING_VALUES
        + Math.min(fileBytes, Long.MAX_VALUE / 2 / MAX_DROPPED_ZEROS_PER_FILE_BYTE) * MAX_DROPPED_ZEROS_PER_FILE_BYTE;
    for (Iterator<Map.Entry<String, JsonNode>> it = modules.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String module = e.getKey();
      SourceFactors source = sourceFactors(modelPath, module, e.getValue());
      for (String name : List.of(source.loraAName(), source.loraBName())) {
        if (!sourceNames.add(name)) {
          throw new InvalidAdapterException(modelPath + " __metadata__[" + CompressedFormat.META_MODULES + "]", module,
              "LoRA factor name '" + name + "' is used twice");
        }
      }
      CompressedAdapter.Layer layer;
      int k;
      String metaName;
      if (version == CompressedFormat.BUDGET_FORMAT_VERSION) {
        BudgetLayer budget = BudgetLayerLayout.fromTensors(module, name -> tensorOrNull(model, name), modelPath);
        layer = new CompressedAdapter.Layer(module, source, budget);
        k = budget.k();
        metaName = BudgetLayerLayout.metaName(module);
        // Saturating: k < 2^31 components of m + n < 2^32 values could overflow a long.
        long dropped = budget.k() - budget.kept();
        long values = (long) budget.m() + budget.n();
        droppedZeros = dropped != 0 && values > (Long.MAX_VALUE - droppedZeros) / dropped ? Long.MAX_VALUE
            : droppedZeros + dropped * values;
        if (droppedZeros > droppedZerosAllowed) {
          throw new InvalidAdapterException(modelPath, BudgetLayerLayout.widthsName(module), dropped + " dropped components (width 0) bring the zeros decoded without stored data to " + droppedZeros
              + " values, more than the " + droppedZerosAllowed + " a reader accepts from this " + fileBytes
              + "-byte file (" + MAX_ZERO_PADDING_VALUES + " + " + MAX_DROPPED_ZEROS_PER_FILE_BYTE + " per byte)");
        }
      } else {
        CompressedLayer paper = CompressedLayerLayout.fromTensors(module, name -> tensorOrNull(model, name), modelPath);
        layer = new CompressedAdapter.Layer(module, source, paper);
        k = paper.k();
        metaName = CompressedLayerLayout.metaName(module);
      }
      checkSourceShapes(modelPath, module, source, layer.m(), layer.n(), layer.rank());
      // Each term is at most m x rank + rank x n < 2^32 (the layout checked both): the sum cannot overflow.
      zeroPadding += ((long) layer.rank() - k) * ((long) layer.m() + layer.n());
      if (zeroPadding > MAX_ZERO_PADDING_VALUES) {
        throw new InvalidAdapterException(modelPath, metaName, "rank " + layer.rank()
            + " above the layer's k=" + k + " components asks for zero components that bring the adapter's"
            + " total to " + zeroPadding + " values, more than the " + MAX_ZERO_PADDING_VALUES
            + " a reader accepts without stored data behind them");
      }
      layers.add(layer);
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
      for (NamedTensor t : l.tensors()) {
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

  private static long fileLength(InputFile file) {
    try {
      return file.length();
    } catch (IOException e) {
      throw IoErrors.cannotRead(file.location(), e);
    }
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
    if (v.textValue().equals(METADATA_KEY)) {
      throw new InvalidAdapterException(where, module, "'" + key + "' is '" + METADATA_KEY
          + "', which safetensors reserves for metadata");
    }
    return v.textValue();
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
      // Integers only: 4.5 or 2^64 + 4 must not be read as 4.
      if (!v.get(i).isIntegralNumber() || !v.get(i).canConvertToLong() || v.get(i).longValue() < 0) {
        throw new InvalidAdapterException(where, module, "'" + key + "' has a bad dimension " + v.get(i)
            + " (expected a non-negative integer)");
      }
      shape[i] = v.get(i).longValue();
    }
    return shape;
  }

  /**
   * The JSON form (config block, manifest): format a string, format_version the integer 1 or 2
   * exactly (compared as a big integer: 2^64 + 1 must not wrap to 1).
   *
   * @return the version
   */
  private static int checkFormat(String where, JsonNode format, JsonNode version) {
    checkFormatName(where, format);
    return versionOf(where, version);
  }

  private static int versionOf(String where, JsonNode version) {
    if (version != null && version.isIntegralNumber()) {
      for (int known : KNOWN_VERSIONS) {
        if (version.bigIntegerValue().equals(BigInteger.valueOf(known))) {
          return known;
        }
      }
    }
    throw unsupportedVersion(where, String.valueOf(version));
  }

  private static final int[] KNOWN_VERSIONS = {CompressedFormat.FORMAT_VERSION, CompressedFormat.BUDGET_FORMAT_VERSION};

  private static void checkFormatName(String where, JsonNode format) {
    if (format == null || !format.isTextual() || !CompressedFormat.FORMAT_NAME.equals(format.textValue())) {
      throw new InvalidAdapterException(where, null, "format is " + format + ", expected \""
          + CompressedFormat.FORMAT_NAME + "\": not a loraquant compressed adapter");
    }
  }

  /** The safetensors form: {@code __metadata__} values are strings, exactly "1" or "2". */
  private static int checkMetadataFormat(String modelPath, Map<String, String> meta) {
    String where = modelPath + " __metadata__";
    String format = meta.get(CompressedFormat.META_FORMAT);
    if (!CompressedFormat.FORMAT_NAME.equals(format)) {
      throw new InvalidAdapterException(where, null, "format is " + (format == null ? "missing" : "'" + format + "'")
          + ", expected '" + CompressedFormat.FORMAT_NAME + "': not a loraquant compressed adapter");
    }
    String version = meta.get(CompressedFormat.META_FORMAT_VERSION);
    for (int known : KNOWN_VERSIONS) {
      if (Integer.toString(known).equals(version)) {
        return known;
      }
    }
    throw unsupportedVersion(where, version == null ? "missing" : "'" + version + "'");
  }

  private static InvalidAdapterException unsupportedVersion(String where, String found) {
    return new InvalidAdapterException(where, null, "unsupported format version " + found
        + "; this version of loraquant reads versions " + CompressedFormat.FORMAT_VERSION + " and "
        + CompressedFormat.BUDGET_FORMAT_VERSION + " (a newer loraquant wrote it?)");
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
  private static void checkSourceShapes(String file, String module, SourceFactors s, int m, int n, int rank) {
    long[] a = s.shapeA();
    long[] b = s.shapeB();
    // -1 (never a product of non-negative dimensions) when the product passes 2^63.
    long aRest = productFrom(a, 1);
    long bRest = productFrom(b, 2);
    if (b[0] != m || b[1] != rank || bRest != 1 || a[0] != rank || aRest != n) {
      throw new InvalidAdapterException(file + " __metadata__[" + CompressedFormat.META_MODULES + "]", module,
          "shape_A " + Arrays.toString(a) + " / shape_B " + Arrays.toString(b) + " do not match the layer's meta m="
              + m + " n=" + n + " rank=" + rank);
    }
  }

  private static long productFrom(long[] shape, int from) {
    long product = 1;
    try {
      for (int i = from; i < shape.length; i++) {
        product = Math.multiplyExact(product, shape[i]);
      }
      return product;
    } catch (ArithmeticException e) {
      return -1;
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
    } catch (JsonProcessingException e) {
      // The original message without Jackson's multi-line source excerpt: errors are one line.
      String at = e.getLocation() == null ? ""
          : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
      throw new InvalidAdapterException(where, null, "malformed JSON: " + oneLine(e.getOriginalMessage()) + at);
    } catch (IOException e) {
      throw new InvalidAdapterException(where, null, "malformed JSON: " + oneLine(e.getMessage()));
    }
  }

  private static String oneLine(String message) {
    return String.valueOf(message).replaceAll("\\s*[\\r\\n]+\\s*", " ");
  }

  static byte[] readSmallFile(InputFile file) throws IOException {
    return JsonFiles.read(file);
  }
}
