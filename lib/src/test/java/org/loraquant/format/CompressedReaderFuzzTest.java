package org.loraquant.format;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.loraquant.codec.DecodedLayer;
import org.loraquant.codec.LoraQuantCodec;
import org.loraquant.compress.AdapterDecompressor;
import org.loraquant.compress.OutputDType;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.SafetensorsReader;
import org.loraquant.safetensors.SafetensorsWriter;
import org.loraquant.safetensors.TensorInfo;
import org.loraquant.testing.BytesInputFile;
import org.loraquant.testing.MemoryFileIO;

/**
 * Hostile compressed folders: seeded random mutations of the golden folders (byte flips,
 * truncations, extensions, edits of the safetensors header, of the layer tensors' sizes, ranks,
 * shapes, dtypes and scales, of {@code loraquant.modules} and of every {@code format_version}),
 * each read by {@link CompressedAdapterReader} and decompressed by {@link AdapterDecompressor} as
 * {@code bin/loraquant decompress} does. Every case must decode to finite values or be refused with
 * an {@link InvalidAdapterException} whose message is one line; never another exception, a hang or
 * an allocation out of proportion to the few kilobytes of input. Version-2 (budget mode) folders
 * get the same and their own mutations of the layers' stored tensors (see the second test).
 */
class CompressedReaderFuzzTest {
  private static final long SEED = 20_261_016L;
  private static final int CASES = 3000;
  /** A hang guard, not a speed test: a case takes milliseconds. */
  private static final long CASE_TIMEOUT_SECONDS = 60;
  /**
   * Bytes one case may allocate. The inputs are a few kilobytes, so what they decode to is small;
   * what they can declare without stored data behind it is the zero components the reader allows
   * (at most {@link CompressedAdapterReader#MAX_ZERO_PADDING_VALUES}), each costing about 20 bytes on
   * the way out (a float, its F32 encoding, the weights file's growing buffer and its copy).
   */
  private static final long MAX_CASE_ALLOCATION = (32L << 20) + 24 * CompressedAdapterReader.MAX_ZERO_PADDING_VALUES;
  private static final String DIR = "mem/compressed";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[] FILES = {
      CompressedFormat.MODEL_FILE, CompressedFormat.CONFIG_FILE, CompressedFormat.MANIFEST_FILE};
  /** Ints for sizes and ranks: small, boundary, the ranks, and ones whose products overflow. */
  private static final long[] SIZES = {0, 1, 2, 3, 7, 8, 9, 16, 255, 256, 20_000, 100_000, 1 << 20, 1 << 24,
      (1L << 31) - 1, 1L << 31, -1, -2, Integer.MIN_VALUE, 1L << 32, 1L << 40};
  /** format_version values, as JSON text, that must never be read as 1. */
  private static final String[] VERSIONS = {"18446744073709551617", "4294967297", "1.0", "1e0", "\"1\"", "2", "0",
      "-1", "null", "[1]", "{}", "1.5", "100000000000000000000001", "true"};
  private static final String[] METADATA_VERSIONS = {"01", "1.0", " 1", "1 ", "+1", "18446744073709551617",
      "4294967297", "", "2", "１"};
  /** binary16 bits: infinities, NaNs, and finite extremes that must still decode. */
  private static final short[] SPECIAL_SCALES = {0x7c00, (short) 0xfc00, 0x7e00, 0x7c01, (short) 0xffff,
      (short) 0x8000, 0x7bff, 0x0001, 0};

  private static List<Map<String, byte[]>> goldens;
  /** The version-2 (budget mode) golden folders, and what each decodes to, layer by layer. */
  private static List<Map<String, byte[]>> goldensV2;
  private static List<Map<String, DecodedLayer>> decodedV2;
  private static ExecutorService executor;

  @BeforeAll
  static void load() throws IOException {
    goldens = folders(GoldenFilesTest.GOLDEN);
    goldensV2 = folders(GoldenV2FilesTest.GOLDEN);
    decodedV2 = new ArrayList<>();
    for (Map<String, byte[]> folder : goldensV2) {
      Map<String, DecodedLayer> decoded = new TreeMap<>();
      assertThat(runCase(folder, OutputDType.SAME, decoded)).as("an intact v2 golden folder").isNull();
      decodedV2.add(decoded);
    }
    executor = Executors.newSingleThreadExecutor();
  }

  private static List<Map<String, byte[]>> folders(Path golden) throws IOException {
    List<Map<String, byte[]>> out = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(golden)) {
      for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
        Map<String, byte[]> folder = new TreeMap<>();
        for (String name : FILES) {
          folder.put(name, Files.readAllBytes(dir.resolve("compressed").resolve(name)));
        }
        out.add(folder);
      }
    }
    return out;
  }

  @AfterAll
  static void stop() {
    executor.shutdownNow();
  }

  @Test
  void everyMutationDecodesOrIsRefusedWithOneLine() throws Exception {
    assertThat(goldens).hasSize(3);
    for (Map<String, byte[]> folder : goldens) {
      assertThat(runCase(folder, OutputDType.SAME)).as("an intact golden folder").isNull();
    }
    Random random = new Random(SEED);
    List<String> failures = new ArrayList<>();
    int refused = 0;
    for (int i = 0; i < CASES && failures.size() < 20; i++) {
      Map<String, byte[]> folder = new TreeMap<>(goldens.get(i % goldens.size()));
      List<String> edits = new ArrayList<>();
      int count = random.nextInt(5) == 0 ? 2 : 1;
      for (int e = 0; e < count; e++) {
        edits.add(mutate(folder, random));
      }
      OutputDType dtype = OutputDType.values()[random.nextInt(OutputDType.values().length)];
      Future<Throwable> outcome = executor.submit(() -> runCase(folder, dtype));
      Throwable t;
      try {
        t = outcome.get(CASE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        outcome.cancel(true);
        failures.add("case " + i + " " + edits + ": no answer after " + CASE_TIMEOUT_SECONDS + " s");
        break;
      }
      if (t instanceof InvalidAdapterException) {
        refused++;
        if (t.getMessage().contains("\n") || t.getMessage().contains("\r")) {
          failures.add("case " + i + " " + edits + ": message of several lines: " + t.getMessage());
        }
      } else if (t != null) {
        failures.add("case " + i + " " + edits + ": " + describe(t));
      }
    }
    assertThat(failures).isEmpty();
    // The mutations reach the checks, and some leave a folder that still decodes (flipped code bits).
    assertThat(refused).isBetween(CASES / 2, CASES - 100);
  }

  /**
   * The same for version-2 (budget mode) folders, with mutations of their own: a flipped byte in a
   * layer's stored tensors, which the layer's CRC-32C must refuse naming the file and the layer, and
   * crafted layers (meta, widths, scales or codes edited and the CRC computed again), which must
   * decode to finite values or be refused. A folder that decodes must decode every layer exactly as
   * the intact folder does unless a crafted edit changed it: no damage is ever decoded silently.
   */
  @Test
  void everyMutationOfAVersion2FolderDecodesAsBeforeOrIsRefusedWithOneLine() throws Exception {
    assertThat(goldensV2).hasSize(3);
    Random random = new Random(SEED + 2);
    List<String> failures = new ArrayList<>();
    int refused = 0;
    int crcRefusals = 0;
    for (int i = 0; i < CASES && failures.size() < 20; i++) {
      int which = i % goldensV2.size();
      Map<String, byte[]> folder = new TreeMap<>(goldensV2.get(which));
      List<String> edits = new ArrayList<>();
      boolean crafted = false;
      String damagedLayer = null;
      int count = random.nextInt(5) == 0 ? 2 : 1;
      for (int e = 0; e < count; e++) {
        int kind = random.nextInt(100);
        if (kind < 40) {
          V2Edit edit = editLayerV2(folder, random, kind < 25);
          crafted |= edit.crafted();
          if (!edit.crafted() && edit.module() != null && count == 1) {
            damagedLayer = edit.module();
          }
          edits.add(edit.what());
        } else {
          edits.add(mutate(folder, random));
        }
      }
      OutputDType dtype = OutputDType.values()[random.nextInt(OutputDType.values().length)];
      Map<String, DecodedLayer> decoded = new TreeMap<>();
      Future<Throwable> outcome = executor.submit(() -> runCase(folder, dtype, decoded));
      Throwable t;
      try {
        t = outcome.get(CASE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        outcome.cancel(true);
        failures.add("case " + i + " " + edits + ": no answer after " + CASE_TIMEOUT_SECONDS + " s");
        break;
      }
      if (t instanceof InvalidAdapterException refusal) {
        refused++;
        String message = refusal.getMessage();
        if (message.contains("\n") || message.contains("\r")) {
          failures.add("case " + i + " " + edits + ": message of several lines: " + message);
        } else if (!message.startsWith(DIR)) {
          failures.add("case " + i + " " + edits + ": message does not name the file: " + message);
        } else if (damagedLayer != null && (refusal.tensor() == null
            || !refusal.tensor().startsWith(damagedLayer + ".lq."))) {
          failures.add("case " + i + " " + edits + ": refusal does not name the damaged layer: " + message);
        }
        crcRefusals += message.contains("CRC-32C mismatch") ? 1 : 0;
      } else if (t != null) {
        failures.add("case " + i + " " + edits + ": " + describe(t));
      } else if (damagedLayer != null) {
        failures.add("case " + i + " " + edits + ": a damaged layer was decoded");
      } else if (!crafted) {
        String changed = changedLayer(decodedV2.get(which), decoded);
        if (changed != null) {
          failures.add("case " + i + " " + edits + ": decoded " + changed + " differently from the intact folder");
        }
      }
    }
    assertThat(failures).isEmpty();
    assertThat(refused).isBetween(CASES / 2, CASES - 100);
    assertThat(crcRefusals).as("refusals by a layer's CRC-32C").isGreaterThan(CASES / 10);
  }

  /** The first module whose decoded factors differ from the intact folder's, or null. */
  private static String changedLayer(Map<String, DecodedLayer> intact, Map<String, DecodedLayer> decoded) {
    for (Map.Entry<String, DecodedLayer> e : intact.entrySet()) {
      DecodedLayer d = decoded.get(e.getKey());
      DecodedLayer want = e.getValue();
      if (d == null || d.m() != want.m() || d.n() != want.n() || d.rank() != want.rank() || d.k() != want.k()
          || !Arrays.equals(d.b(), want.b()) || !Arrays.equals(d.a(), want.a())) {
        return e.getKey();
      }
    }
    return decoded.size() == intact.size() ? null : "a layer count of " + decoded.size();
  }

  /** A version-2 layer edit: what it did, the layer, and whether its CRC was computed again. */
  private record V2Edit(String what, String module, boolean crafted) {}

  /**
   * Damages one stored tensor of one version-2 layer (meta, widths, codes, scales, zero points or
   * the CRC itself) by flipping bytes of its data, or with {@code craft} edits it on purpose and
   * stores the CRC of the edited layer.
   */
  private static V2Edit editLayerV2(Map<String, byte[]> folder, Random random, boolean craft) {
    Model model = Model.parse(folder.get(CompressedFormat.MODEL_FILE));
    if (model == null) {
      return new V2Edit(flipBytes(folder, random), null, false);
    }
    List<String> names = model.tensors.keySet().stream()
        .filter(n -> n.contains(".lq.") && !(craft && n.endsWith(".lq.crc"))).toList();
    if (names.isEmpty()) {
      return new V2Edit("no layer tensors", null, false);
    }
    String name = names.get(random.nextInt(names.size()));
    String module = Model.module(name);
    NamedTensor t = model.tensors.get(name);
    byte[] data = t.data().clone();
    if (data.length == 0) {
      return new V2Edit("empty " + name, null, false);
    }
    String what;
    if (!craft) {
      int flips = 1 + random.nextInt(3);
      List<Integer> at = new ArrayList<>();
      for (int f = 0; f < flips; f++) {
        int p = random.nextInt(data.length);
        data[p] ^= (byte) (1 + random.nextInt(255));
        at.add(p);
      }
      what = "flip " + name + " at " + at;
      if (Arrays.equals(data, t.data())) {
        return new V2Edit(what + " (the flips cancel out)", null, false);
      }
    } else if (name.endsWith(".lq.meta2")) {
      ByteBuffer ints = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
      int index = random.nextInt(data.length / 4);
      int old = ints.getInt(index * 4);
      int value = switch (random.nextInt(3)) {
        case 0 -> (int) size(random);
        case 1 -> old + random.nextInt(5) - 2;
        default -> random.nextInt();
      };
      ints.putInt(index * 4, value);
      what = "crafted " + name + "[" + index + "] " + old + " -> " + value;
    } else if (name.endsWith(".lq.widths")) {
      int index = random.nextInt(data.length);
      int value = random.nextInt(4) == 0 ? random.nextInt(256) : random.nextInt(9);
      data[index] = (byte) value;
      what = "crafted " + name + "[" + index + "] = " + value;
    } else if (name.endsWith(".scales") && data.length >= 2) {
      int index = random.nextInt(data.length / 2);
      short bits = SPECIAL_SCALES[random.nextInt(SPECIAL_SCALES.length)];
      ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putShort(index * 2, bits);
      what = "crafted " + name + "[" + index + "] = 0x" + Integer.toHexString(bits & 0xffff);
    } else {
      int index = random.nextInt(data.length);
      data[index] = (byte) random.nextInt(256);
      what = "crafted " + name + "[" + index + "]";
    }
    model.tensors.put(name, new NamedTensor(name, t.dtype(), t.shape(), data));
    if (craft) {
      model.storeCrc(module);
    }
    folder.put(CompressedFormat.MODEL_FILE, model.bytes());
    return new V2Edit(what, module, craft);
  }

  /** Null if the folder decoded to finite values within the allocation bound, else what went wrong. */
  private static Throwable runCase(Map<String, byte[]> folder, OutputDType dtype) {
    return runCase(folder, dtype, null);
  }

  /** {@link #runCase}, putting each decoded layer into {@code decoded} by module when given. */
  private static Throwable runCase(Map<String, byte[]> folder, OutputDType dtype,
      Map<String, DecodedLayer> decoded) {
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    Throwable outcome = null;
    try {
      CompressedAdapter adapter = CompressedAdapterReader.read(MemoryFileIO.ofFolder(DIR, folder), DIR).adapter();
      AdapterDecompressor.decompress(adapter, dtype);
      for (CompressedAdapter.Layer layer : adapter.layers()) {
        DecodedLayer d = layer.budget() != null ? layer.budget().decode() : LoraQuantCodec.decode(layer.layer());
        requireFinite(layer.module(), d.b());
        requireFinite(layer.module(), d.a());
        if (decoded != null) {
          decoded.put(layer.module(), d);
        }
      }
    } catch (Throwable t) {
      outcome = t;
    }
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    if (allocated > MAX_CASE_ALLOCATION) {
      return new AssertionError("allocated " + allocated + " bytes, outcome " + describe(outcome));
    }
    return outcome;
  }

  private static void requireFinite(String module, float[] values) {
    for (float v : values) {
      if (!Float.isFinite(v)) {
        throw new AssertionError(module + " decoded to " + v);
      }
    }
  }

  private static String describe(Throwable t) {
    if (t == null) {
      return "decoded";
    }
    StackTraceElement[] at = t.getStackTrace();
    return t + (at.length > 0 ? " at " + at[0] : "");
  }

  // ---- mutations; each returns a short description for failure messages ----

  private static String mutate(Map<String, byte[]> folder, Random random) {
    int kind = random.nextInt(100);
    if (kind < 12) {
      return flipBytes(folder, random);
    } else if (kind < 17) {
      String file = pickFile(random);
      byte[] bytes = folder.get(file);
      int length = random.nextInt(bytes.length + 1);
      folder.put(file, Arrays.copyOf(bytes, length));
      return "truncate " + file + " to " + length;
    } else if (kind < 21) {
      String file = pickFile(random);
      byte[] bytes = folder.get(file);
      byte[] longer = Arrays.copyOf(bytes, bytes.length + 1 + random.nextInt(64));
      if (random.nextBoolean()) {
        for (int i = bytes.length; i < longer.length; i++) {
          longer[i] = (byte) random.nextInt(256);
        }
      }
      folder.put(file, longer);
      return "extend " + file + " to " + longer.length;
    } else if (kind < 27) {
      return editRawHeader(folder, random);
    } else if (kind < 35) {
      return editJsonFile(folder, random);
    }
    Model model = Model.parse(folder.get(CompressedFormat.MODEL_FILE));
    if (model == null) {
      return flipBytes(folder, random);
    }
    String what;
    if (kind < 50) {
      what = model.editInts(random);
    } else if (kind < 57) {
      what = model.editScale(random);
    } else if (kind < 64) {
      what = model.editTensorShapeOrDtype(random);
    } else if (kind < 70) {
      what = model.removeOrAddTensor(random);
    } else if (kind < 85) {
      what = model.editModules(random);
    } else if (kind < 93) {
      what = model.declareRank(random);
    } else {
      what = model.editMetadata(random);
    }
    folder.put(CompressedFormat.MODEL_FILE, model.bytes());
    return what;
  }

  private static String pickFile(Random random) {
    int r = random.nextInt(10);
    return r < 7 ? CompressedFormat.MODEL_FILE : r < 9 ? CompressedFormat.CONFIG_FILE : CompressedFormat.MANIFEST_FILE;
  }

  private static String flipBytes(Map<String, byte[]> folder, Random random) {
    String file = pickFile(random);
    byte[] bytes = folder.get(file).clone();
    if (bytes.length == 0) {
      return "nothing to flip in " + file;
    }
    int flips = 1 + random.nextInt(4);
    List<Integer> at = new ArrayList<>();
    for (int i = 0; i < flips; i++) {
      int p = random.nextInt(bytes.length);
      bytes[p] ^= (byte) (1 + random.nextInt(255));
      at.add(p);
    }
    folder.put(file, bytes);
    return "flip " + file + " at " + at;
  }

  /** Edits the safetensors header JSON in place, leaving the data area as it is. */
  private static String editRawHeader(Map<String, byte[]> folder, Random random) {
    byte[] file = folder.get(CompressedFormat.MODEL_FILE);
    ObjectNode header;
    int headerLength;
    try {
      headerLength = (int) ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
      header = (ObjectNode) JSON.readTree(Arrays.copyOfRange(file, 8, 8 + headerLength));
    } catch (RuntimeException | IOException e) {
      return flipBytes(folder, random);
    }
    List<String> names = new ArrayList<>();
    header.fieldNames().forEachRemaining(names::add);
    names.remove("__metadata__");
    if (names.isEmpty()) {
      return flipBytes(folder, random);
    }
    String name = names.get(random.nextInt(names.size()));
    ObjectNode entry = (ObjectNode) header.get(name);
    String what;
    switch (random.nextInt(4)) {
      case 0 -> {
        ArrayNode offsets = entry.putArray("data_offsets");
        long begin = random.nextBoolean() ? size(random) : random.nextInt(file.length);
        offsets.add(begin).add(random.nextBoolean() ? begin + random.nextInt(64) : size(random));
        what = "data_offsets " + offsets;
      }
      case 1 -> {
        ArrayNode shape = entry.putArray("shape");
        for (int i = random.nextInt(4); i > 0; i--) {
          shape.add(size(random));
        }
        what = "shape " + shape;
      }
      case 2 -> {
        entry.put("dtype", DType.values()[random.nextInt(DType.values().length)].name());
        what = "dtype " + entry.get("dtype");
      }
      default -> {
        entry.set("shape", rawJson("[18446744073709551617]"));
        what = "shape [2^64 + 1]";
      }
    }
    byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
    byte[] data = Arrays.copyOfRange(file, 8 + headerLength, file.length);
    ByteBuffer out = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(json.length).put(json).put(data);
    folder.put(CompressedFormat.MODEL_FILE, out.array());
    return "raw header: " + name + " " + what;
  }

  /** Edits adapter_config.json's loraquant block or the manifest. */
  private static String editJsonFile(Map<String, byte[]> folder, Random random) {
    boolean config = random.nextBoolean();
    String file = config ? CompressedFormat.CONFIG_FILE : CompressedFormat.MANIFEST_FILE;
    ObjectNode root;
    try {
      root = (ObjectNode) JSON.readTree(folder.get(file));
    } catch (RuntimeException | IOException e) {
      return flipBytes(folder, random);
    }
    ObjectNode target = config && root.get(CompressedFormat.CONFIG_BLOCK) instanceof ObjectNode block ? block : root;
    String what;
    switch (random.nextInt(6)) {
      case 0, 1, 2 -> {
        String version = VERSIONS[random.nextInt(VERSIONS.length)];
        target.set("format_version", rawJson(version));
        what = "format_version " + version;
      }
      case 3 -> {
        target.put(config ? "quant_method" : "format", random.nextBoolean() ? "LoRAQuant" : "loraquant ");
        what = "format name";
      }
      case 4 -> {
        target.remove(random.nextBoolean() ? "format_version" : config ? "quant_method" : "format");
        what = "remove a format key";
      }
      default -> {
        if (config) {
          root.put(CompressedFormat.CONFIG_BLOCK, "loraquant");
        } else {
          root.removeAll();
        }
        what = "replace the block";
      }
    }
    folder.put(file, root.toString().getBytes(StandardCharsets.UTF_8));
    return file + ": " + what;
  }

  private static long size(Random random) {
    long s = SIZES[random.nextInt(SIZES.length)];
    return random.nextInt(4) == 0 ? s + random.nextInt(3) - 1 : s;
  }

  private static JsonNode rawJson(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new IllegalStateException(text, e);
    }
  }

  /** The model file's tensors and metadata, edited and written back with a consistent header. */
  private static final class Model {
    final Map<String, NamedTensor> tensors = new LinkedHashMap<>();
    final Map<String, String> metadata = new TreeMap<>();

    static Model parse(byte[] file) {
      try {
        SafetensorsReader reader = SafetensorsReader.open(new BytesInputFile("model", file));
        Model model = new Model();
        for (TensorInfo t : reader.header().tensors()) {
          model.tensors.put(t.name(), new NamedTensor(t.name(), t.dtype(), t.shape(), reader.readBytes(t)));
        }
        model.metadata.putAll(reader.header().metadata());
        return model.tensors.isEmpty() ? null : model;
      } catch (RuntimeException e) {
        return null;
      }
    }

    byte[] bytes() {
      SafetensorsWriter w = new SafetensorsWriter();
      metadata.forEach(w::metadata);
      tensors.values().forEach(t -> w.add(t.name(), t.dtype(), t.shape(), t.data()));
      try {
        return w.toByteArray();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    private String pick(Random random, String suffix) {
      List<String> names = tensors.keySet().stream().filter(n -> n.endsWith(suffix)).toList();
      return names.isEmpty() ? null : names.get(random.nextInt(names.size()));
    }

    /** One int of a meta or info tensor set to a size, a neighbour of its value, or a random int. */
    String editInts(Random random) {
      String name = pick(random, random.nextBoolean() ? ".lq.meta" : ".info");
      if (name == null) {
        return "no meta or info tensor";
      }
      NamedTensor t = tensors.get(name);
      if (t.dtype() != DType.I32 || t.data().length < 4) {
        return "not I32: " + name;
      }
      ByteBuffer data = ByteBuffer.wrap(t.data().clone()).order(ByteOrder.LITTLE_ENDIAN);
      int index = random.nextInt(t.data().length / 4);
      int old = data.getInt(index * 4);
      int value = switch (random.nextInt(3)) {
        case 0 -> (int) size(random);
        case 1 -> old + random.nextInt(5) - 2;
        default -> random.nextInt();
      };
      data.putInt(index * 4, value);
      tensors.put(name, new NamedTensor(name, t.dtype(), t.shape(), data.array()));
      return name + "[" + index + "] " + old + " -> " + value;
    }

    String editScale(Random random) {
      String name = pick(random, ".scales");
      if (name == null || tensors.get(name).data().length < 2) {
        return "no scales";
      }
      NamedTensor t = tensors.get(name);
      byte[] data = t.data().clone();
      int index = random.nextInt(data.length / 2);
      short bits = SPECIAL_SCALES[random.nextInt(SPECIAL_SCALES.length)];
      ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putShort(index * 2, bits);
      tensors.put(name, new NamedTensor(name, t.dtype(), t.shape(), data));
      return name + "[" + index + "] = 0x" + Integer.toHexString(bits & 0xffff);
    }

    /** A new dtype or shape, with the bytes cut or padded to match so the safetensors file stays valid. */
    String editTensorShapeOrDtype(Random random) {
      List<String> names = new ArrayList<>(tensors.keySet());
      String name = names.get(random.nextInt(names.size()));
      NamedTensor t = tensors.get(name);
      DType dtype = random.nextBoolean() ? DType.values()[random.nextInt(DType.values().length)] : t.dtype();
      long[] shape;
      long numel = t.data().length / t.dtype().size();
      switch (random.nextInt(4)) {
        case 0 -> shape = new long[] {numel};
        case 1 -> shape = new long[] {1, numel};
        case 2 -> shape = new long[] {numel + 1};
        default -> shape = new long[] {Math.max(0, numel - 1), 1};
      }
      if (random.nextInt(3) == 0) {
        shape = t.shape();
      }
      long count = 1;
      for (long d : shape) {
        count *= d;
      }
      byte[] data = Arrays.copyOf(t.data(), (int) (count * dtype.size()));
      tensors.put(name, new NamedTensor(name, dtype, shape, data));
      return name + " -> " + dtype + Arrays.toString(shape);
    }

    String removeOrAddTensor(Random random) {
      List<String> names = new ArrayList<>(tensors.keySet());
      String name = names.get(random.nextInt(names.size()));
      if (random.nextBoolean()) {
        tensors.remove(name);
        return "remove " + name;
      }
      String module = module(name);
      String stray = switch (random.nextInt(4)) {
        case 0 -> module + ".lq.t7.info";
        case 1 -> module + ".lq.t1.a.zeros";
        case 2 -> "stray.module.lq.meta";
        default -> module + ".lora_A.weight";
      };
      tensors.put(stray, new NamedTensor(stray, DType.I32, new long[] {4}, new byte[16]));
      return "add " + stray;
    }

    /**
     * Stores the CRC-32C of a version-2 layer's tensors as the writer computes it: the data of
     * its tensors in the layout's order (meta2, widths, then codes, scales and zeros of B' and A').
     */
    void storeCrc(String module) {
      java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
      for (String part : new String[] {"meta2", "widths", "b.codes", "b.scales", "b.zeros", "a.codes", "a.scales",
          "a.zeros"}) {
        NamedTensor t = tensors.get(module + ".lq." + part);
        if (t != null) {
          crc.update(t.data());
        }
      }
      String name = module + ".lq.crc";
      byte[] value = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) crc.getValue()).array();
      tensors.put(name, new NamedTensor(name, DType.I32, new long[] {1}, value));
    }

    static String module(String tensorName) {
      int at = tensorName.lastIndexOf(".lq.");
      return at < 0 ? tensorName : tensorName.substring(0, at);
    }

    /** One field of one module's entry in loraquant.modules changed, removed or made the wrong type. */
    String editModules(Random random) {
      ObjectNode modules = modules();
      if (modules == null || modules.isEmpty()) {
        return "no modules";
      }
      List<String> names = new ArrayList<>();
      modules.fieldNames().forEachRemaining(names::add);
      String module = names.get(random.nextInt(names.size()));
      JsonNode entry = modules.get(module);
      if (!(entry instanceof ObjectNode source)) {
        return "module entry not an object";
      }
      String what;
      switch (random.nextInt(7)) {
        case 0, 1 -> {
          String key = random.nextBoolean() ? "shape_A" : "shape_B";
          ArrayNode shape = source.get(key) instanceof ArrayNode a ? a.deepCopy() : JSON.createArrayNode();
          if (shape.isEmpty()) {
            shape.add(1);
          }
          int index = random.nextInt(shape.size() + 1);
          String value = random.nextInt(3) == 0 ? new String[] {"1.5", "\"4\"", "null", "18446744073709551617",
              "4.0", "-0"}[random.nextInt(6)] : Long.toString(size(random));
          if (index == shape.size()) {
            shape.add(rawJson(value));
          } else {
            shape.set(index, rawJson(value));
          }
          source.set(key, shape);
          what = key + " " + shape;
        }
        case 2 -> {
          String key = random.nextBoolean() ? "dtype_A" : "dtype_B";
          String value = new String[] {"\"F64\"", "\"I32\"", "\"f16\"", "3", "null", "\"U8\""}[random.nextInt(6)];
          source.set(key, rawJson(value));
          what = key + " " + value;
        }
        case 3 -> {
          String key = random.nextBoolean() ? "lora_A" : "lora_B";
          String other = names.get(random.nextInt(names.size()));
          String value = switch (random.nextInt(5)) {
            case 0 -> source.path(key.equals("lora_A") ? "lora_B" : "lora_A").asText();
            case 1 -> modules.get(other).path(key).asText();
            case 2 -> "__metadata__";
            case 3 -> "";
            default -> tensors.keySet().iterator().next();
          };
          source.put(key, value);
          what = key + " '" + value + "'";
        }
        case 4 -> {
          String key = new String[] {"lora_A", "dtype_A", "shape_A", "lora_B", "dtype_B", "shape_B"}[random.nextInt(6)];
          source.remove(key);
          what = "remove " + key;
        }
        case 5 -> {
          modules.set(module + ".renamed", modules.remove(module));
          what = "rename to " + module + ".renamed";
        }
        default -> {
          modules.put(module, "not an object");
          what = "entry a string";
        }
      }
      metadata.put(CompressedFormat.META_MODULES, modules.toString());
      return "modules " + module + ": " + what;
    }

    /**
     * The attack: a module's meta declares another rank (and its source shapes agree), in
     * some cases with its tier tensors removed and k = 0, or with m or n = 0.
     */
    String declareRank(Random random) {
      String meta = pick(random, ".lq.meta");
      ObjectNode modules = modules();
      if (meta == null || modules == null || tensors.get(meta).data().length != 24) {
        return "no meta to edit";
      }
      String module = module(meta);
      int[] v = new int[6];
      ByteBuffer.wrap(tensors.get(meta).data()).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(v);
      long[] ranks = {v[3] + 1, 20_000, 100_000, 1 << 24, Integer.MAX_VALUE};
      int rank = (int) ranks[random.nextInt(ranks.length)];
      v[2] = rank;
      String what = "rank " + rank;
      if (random.nextBoolean()) {
        tensors.keySet().removeIf(n -> n.startsWith(module + ".lq.t"));
        v[3] = 0;
        v[4] = 0;
        v[5] = 0;
        what += ", no tiers";
        if (random.nextBoolean()) {
          v[random.nextInt(2)] = 0;
          what += ", m x n " + v[0] + " x " + v[1];
        }
      }
      ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
      for (int x : v) {
        data.putInt(x);
      }
      tensors.put(meta, new NamedTensor(meta, DType.I32, new long[] {6}, data.array()));
      if (modules.get(module) instanceof ObjectNode source) {
        source.set("shape_A", JSON.createArrayNode().add(rank).add(v[1]));
        source.set("shape_B", JSON.createArrayNode().add(v[0]).add(rank));
        metadata.put(CompressedFormat.META_MODULES, modules.toString());
      }
      return module + ": " + what;
    }

    String editMetadata(Random random) {
      switch (random.nextInt(4)) {
        case 0, 1 -> {
          String version = METADATA_VERSIONS[random.nextInt(METADATA_VERSIONS.length)];
          metadata.put(CompressedFormat.META_FORMAT_VERSION, version);
          return "__metadata__ format_version '" + version + "'";
        }
        case 2 -> {
          metadata.put(CompressedFormat.META_SOURCE_METADATA, random.nextBoolean() ? "{\"format\":{\"x\":1}}" : "[]");
          return "source metadata not strings";
        }
        default -> {
          String key = new String[] {CompressedFormat.META_FORMAT, CompressedFormat.META_MODULES,
              CompressedFormat.META_SOURCE_METADATA}[random.nextInt(3)];
          metadata.remove(key);
          return "remove __metadata__ " + key;
        }
      }
    }

    private ObjectNode modules() {
      try {
        return JSON.readTree(metadata.getOrDefault(CompressedFormat.META_MODULES, "")) instanceof ObjectNode o ? o : null;
      } catch (IOException e) {
        return null;
      }
    }
  }
}
