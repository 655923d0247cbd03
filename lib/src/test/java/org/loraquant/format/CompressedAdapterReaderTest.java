package org.loraquant.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.loraquant.format.CompressedFixture.MODULE;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.loraquant.codec.LayerStats;
import org.loraquant.codec.LoraQuantCodec;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.LocalFileIO;
import org.loraquant.safetensors.DType;

/** Each way a compressed folder can be broken is refused with a message naming file and tensor. */
class CompressedAdapterReaderTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String VERSION_HINT = "; this version of loraquant reads versions 1 and 2 (a newer loraquant wrote it?)";

  @TempDir Path tmp;
  private Path dir;
  private String model;
  private LayerStats stats;

  @BeforeEach
  void writeFixture() throws IOException {
    dir = tmp.resolve("compressed");
    stats = CompressedFixture.write(tmp, dir).layers().get(0).stats();
    model = dir.resolve(CompressedFormat.MODEL_FILE).toString();
    // The tier tests below rely on this split: tier 0 = component 0 at 2 bits, tier 1 = 1..3 at 1 bit.
    assertThat(stats.k()).isEqualTo(4);
    assertThat(stats.h()).isEqualTo(1);
  }

  private InvalidAdapterException refusal() {
    Throwable t = catchThrowable(() -> CompressedAdapterReader.read(new LocalFileIO(), dir.toString()));
    assertThat(t).isInstanceOf(InvalidAdapterException.class);
    return (InvalidAdapterException) t;
  }

  @Test
  void intactFolderReads() {
    CompressedAdapterReader.Loaded loaded = CompressedAdapterReader.read(new LocalFileIO(), dir + "/");
    assertThat(loaded.adapter().layers()).singleElement().satisfies(l -> {
      assertThat(l.module()).isEqualTo(MODULE);
      assertThat(l.layer().k()).isEqualTo(4);
    });
    assertThat(loaded.adapter().passThrough()).extracting(NamedTensor::name).containsExactly("base_model.model.score.weight");
    assertThat(loaded.adapter().config().has(CompressedFormat.CONFIG_BLOCK)).isFalse();
    assertThat(loaded.adapter().config().get("future_option").get("enabled").asBoolean()).isTrue();
  }

  @Test
  void missingManifestIsIncomplete() throws IOException {
    Files.delete(dir.resolve(CompressedFormat.MANIFEST_FILE));
    assertThat(CompressedAdapterReader.isComplete(new LocalFileIO(), dir.toString())).isFalse();
    assertThatThrownBy(() -> CompressedAdapterReader.read(new LocalFileIO(), dir.toString()))
        .isInstanceOf(IncompleteAdapterException.class)
        .hasMessage(dir + "/loraquant_manifest.json: missing: " + dir
            + " is not a complete compressed adapter (written by an interrupted run?); compress again");
  }

  @Test
  void plainPeftFolderIsNotACompressedAdapter() throws IOException {
    Path peft = tmp.resolve("source-compressed");
    assertThatThrownBy(() -> CompressedAdapterReader.read(new LocalFileIO(), peft.toString()))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(peft + ": not a loraquant compressed adapter: it has no loraquant_manifest.json and no"
            + " loraquant_model.safetensors (a plain PEFT adapter? compress it first)");
  }

  @Test
  void missingModelFileIsRefused() throws IOException {
    Files.delete(dir.resolve(CompressedFormat.MODEL_FILE));
    assertThat(refusal()).hasMessage(model + ": missing from the compressed adapter folder");
  }

  @Test
  void missingConfigIsRefused() throws IOException {
    Files.delete(dir.resolve(CompressedFormat.CONFIG_FILE));
    assertThat(refusal()).hasMessage(dir + "/adapter_config.json: missing from the compressed adapter folder");
  }

  @Test
  void configWithoutTheLoraquantBlockIsRefused() throws IOException {
    Path config = dir.resolve(CompressedFormat.CONFIG_FILE);
    ObjectNode root = (ObjectNode) JSON.readTree(config.toFile());
    root.remove(CompressedFormat.CONFIG_BLOCK);
    Files.write(config, JSON.writeValueAsBytes(root));
    assertThat(refusal()).hasMessage(config + ": no 'loraquant' block: this is not a loraquant compressed adapter");
  }

  @Test
  void passThroughTensorNamedLikeALoraFactor() throws IOException {
    String name = MODULE + ".lora_A.weight";
    CompressedFixture.editModel(dir, (tensors, meta) -> tensors.put(name, new NamedTensor(name, DType.F32, new long[] {1}, new byte[4])));
    assertThat(refusal()).hasMessage(model + ": tensor '" + name
        + "': stored as a pass-through tensor but also named as a LoRA factor in loraquant.modules");
  }

  @Test
  void wrongFormatNameInMetadata() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("format", "gguf"));
    assertThat(refusal()).hasMessage(model + " __metadata__: format is 'gguf', expected 'loraquant':"
        + " not a loraquant compressed adapter");
  }

  @Test
  void unsupportedVersionInMetadata() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("format_version", "3"));
    assertThat(refusal()).hasMessage(model + " __metadata__: unsupported format version '3'" + VERSION_HINT);
  }

  @Test
  void unsupportedVersionInConfigBlock() throws IOException {
    editConfig(block -> block.put("format_version", 3));
    assertThat(refusal()).hasMessage(dir + "/adapter_config.json \"loraquant\": unsupported format version 3" + VERSION_HINT);
  }

  @Test
  void versionAsTextInConfigBlockIsRefused() throws IOException {
    editConfig(block -> block.put("format_version", "1"));
    assertThat(refusal()).hasMessage(dir + "/adapter_config.json \"loraquant\": unsupported format version \"1\"" + VERSION_HINT);
  }

  @Test
  void wrongQuantMethodInConfigBlock() throws IOException {
    editConfig(block -> block.put("quant_method", "gptq"));
    assertThat(refusal()).hasMessage(dir + "/adapter_config.json \"loraquant\": format is \"gptq\", expected"
        + " \"loraquant\": not a loraquant compressed adapter");
  }

  @Test
  void unsupportedVersionInManifest() throws IOException {
    Path manifest = dir.resolve(CompressedFormat.MANIFEST_FILE);
    ObjectNode root = (ObjectNode) JSON.readTree(manifest.toFile());
    root.put("format_version", 3);
    Files.write(manifest, JSON.writeValueAsBytes(root));
    assertThat(refusal()).hasMessage(manifest + ": unsupported format version 3" + VERSION_HINT);
  }

  @Test
  void missingTensor() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> tensors.remove(MODULE + ".lq.t0.a.scales"));
    assertThat(refusal()).hasMessage(model + ": tensor '" + MODULE + ".lq.t0.a.scales': missing from the compressed file");
  }

  @Test
  void wrongDtype() throws IOException {
    String name = MODULE + ".lq.t1.b.codes";
    CompressedFixture.editModel(dir, (tensors, meta) -> {
      NamedTensor t = tensors.get(name);
      tensors.put(name, new NamedTensor(name, DType.I8, t.shape(), t.data()));
    });
    assertThat(refusal()).hasMessage(model + ": tensor '" + name + "': dtype I8, expected U8");
  }

  @Test
  void wrongSize() throws IOException {
    String name = MODULE + ".lq.t0.b.zeros";
    // 20 values in groups of 8: 3 groups for the one 2-bit component; store 4.
    CompressedFixture.editModel(dir, (tensors, meta) -> tensors.put(name, new NamedTensor(name, DType.U8, new long[] {1, 4}, new byte[4])));
    assertThat(refusal()).hasMessage(model + ": tensor '" + name + "': 4 bytes, expected 3 for the layer's shape");
  }

  @Test
  void wrongShapeOfRightSize() throws IOException {
    String name = MODULE + ".lq.t1.a.scales";
    CompressedFixture.editModel(dir, (tensors, meta) -> {
      NamedTensor t = tensors.get(name);
      tensors.put(name, new NamedTensor(name, t.dtype(), new long[] {t.shape()[0] * t.shape()[1]}, t.data()));
    });
    assertThat(refusal()).hasMessage(model + ": tensor '" + name + "': shape [6], expected [3, 2]");
  }

  @Test
  void tiersThatDoNotCoverAllComponents() throws IOException {
    String p = MODULE + ".lq.t1.";
    // Tier 1 now holds components 2..3 (20 x 12 values, groups of 8): component 1 is missing.
    CompressedFixture.editModel(dir, (tensors, meta) -> {
      tensors.put(p + "info", ints(p + "info", 1, 2, 2, 8));
      tensors.put(p + "b.codes", new NamedTensor(p + "b.codes", DType.U8, new long[] {5}, new byte[5]));
      tensors.put(p + "b.scales", new NamedTensor(p + "b.scales", DType.F16, new long[] {2, 3}, new byte[12]));
      tensors.put(p + "a.codes", new NamedTensor(p + "a.codes", DType.U8, new long[] {3}, new byte[3]));
      tensors.put(p + "a.scales", new NamedTensor(p + "a.scales", DType.F16, new long[] {2, 2}, new byte[8]));
    });
    assertThat(refusal()).hasMessage(model + ": tensor '" + MODULE + ".lq.meta': tiers must cover components 0..3"
        + " in order; a tier starts at 2, expected 1");
  }

  @Test
  void tierBeyondK() throws IOException {
    String name = MODULE + ".lq.t1.info";
    CompressedFixture.editModel(dir, (tensors, meta) -> tensors.put(name, ints(name, 1, 2, 3, 8)));
    assertThat(refusal()).hasMessage(model + ": tensor '" + name + "': tier info [1, 2, 3, 8] claims components"
        + " 2..4, beyond the layer's k=4");
  }

  @Test
  void rankDeclaredWithoutStoredComponents() throws IOException {
    // The 50 KB file: rank 20000, no tier tensors, source shapes that agree. It used to
    // allocate gigabytes of zeros; k must be min(m, n, rank), which the stored tiers back.
    declareLayer(20, 12, 20_000, 0, 0, 0);
    assertThat(refusal()).hasMessage(model + ": tensor '" + MODULE + ".lq.meta': inconsistent layer meta"
        + " [20, 12, 20000, 0, 0, 0]: k=0 but a 20 x 12 layer of rank 20000 has k = min(m, n, rank) = 12 components");
  }

  @Test
  void rankAboveTheStoredComponentsWithTiersIntact() throws IOException {
    declareLayer(20, 12, 100_000, 4, 1, 2);
    assertThat(refusal()).hasMessage(model + ": tensor '" + MODULE + ".lq.meta': inconsistent layer meta"
        + " [20, 12, 100000, 4, 1, 2]: k=4 but a 20 x 12 layer of rank 100000 has k = min(m, n, rank) = 12 components");
  }

  @Test
  void zeroComponentsBeyondTheReadersBound() throws IOException {
    // m = 0 makes k = 0 legitimately, and then rank x n zeros have no stored data behind them.
    declareLayer(0, 12, 1 << 21, 0, 0, 0);
    assertThat(refusal()).hasMessage(model + ": tensor '" + MODULE + ".lq.meta': rank 2097152 above the layer's"
        + " k=0 components asks for zero components that bring the adapter's total to 25165824 values, more than"
        + " the 16777216 a reader accepts without stored data behind them");
  }

  @Test
  void zeroComponentsWithinTheBoundDecode() throws IOException {
    declareLayer(0, 12, 1000, 0, 0, 0);
    CompressedAdapter adapter = CompressedAdapterReader.read(new LocalFileIO(), dir.toString()).adapter();
    assertThat(adapter.layers().get(0).layer().rank()).isEqualTo(1000);
    assertThat(LoraQuantCodec.decode(adapter.layers().get(0).layer()).toLoraFactors().a()).hasSize(12_000).containsOnly(0f);
  }

  @Test
  void factorTooLargeForOneArray() throws IOException {
    // rank x n = 2^32 values: the product used to overflow int (NegativeArraySizeException).
    declareLayer(0, 1 << 16, 1 << 16, 0, 0, 0);
    assertThat(refusal()).hasMessage(model + ": tensor '" + MODULE + ".lq.meta': a 0 x 65536 layer of rank 65536"
        + " decodes to factors of 0 and 4294967296 values; one factor may hold at most 2147483639");
  }

  @ParameterizedTest
  @ValueSource(ints = {0x7c00, 0xfc00, 0x7e00, 0xfe01})
  void nonFiniteScale(int bits) throws IOException {
    String name = MODULE + ".lq.t1.a.scales";
    CompressedFixture.editModel(dir, (tensors, meta) -> {
      NamedTensor t = tensors.get(name);
      byte[] data = t.data().clone();
      ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putShort(2 * 2, (short) bits);
      tensors.put(name, new NamedTensor(name, t.dtype(), t.shape(), data));
    });
    String value = (bits & 0x3ff) != 0 ? "NaN" : bits == 0x7c00 ? "Infinity" : "-Infinity";
    assertThat(refusal()).hasMessage(model + ": tensor '" + name + "': scale 2 is " + value
        + " (binary16 bits 0x" + Integer.toHexString(bits) + "); scales must be finite");
  }

  @ParameterizedTest
  @ValueSource(strings = {"18446744073709551617", "4294967297", "1.0", "1e0", "true"})
  void versionThatOnlyLooksLikeOneInConfigBlock(String version) throws IOException {
    editConfig(block -> block.set("format_version", json(version)));
    assertThat(refusal()).hasMessage(dir + "/adapter_config.json \"loraquant\": unsupported format version "
        + json(version) + VERSION_HINT);
  }

  @Test
  void versionTwoToTheSixtyFourPlusOneInManifest() throws IOException {
    Path manifest = dir.resolve(CompressedFormat.MANIFEST_FILE);
    ObjectNode root = (ObjectNode) JSON.readTree(manifest.toFile());
    root.set("format_version", json("18446744073709551617"));
    Files.write(manifest, JSON.writeValueAsBytes(root));
    assertThat(refusal()).hasMessage(manifest + ": unsupported format version 18446744073709551617" + VERSION_HINT);
  }

  @ParameterizedTest
  @ValueSource(strings = {"01", "1.0", " 1", "18446744073709551617"})
  void versionThatOnlyLooksLikeOneInMetadata(String version) throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("format_version", version));
    assertThat(refusal()).hasMessage(model + " __metadata__: unsupported format version '" + version + "'" + VERSION_HINT);
  }

  @Test
  void repeatedKeyInConfigIsRefused() throws IOException {
    Path config = dir.resolve(CompressedFormat.CONFIG_FILE);
    String text = Files.readString(config);
    Files.writeString(config, text.replaceFirst("\"format_version\"\\s*:\\s*1", "\"format_version\":2,\"format_version\":1"));
    assertThat(refusal().getMessage()).startsWith(config + ": malformed JSON: Duplicate field 'format_version'");
  }

  @Test
  void configNumberADoubleCannotHoldIsRefusedNotRewritten() throws IOException {
    Path config = dir.resolve(CompressedFormat.CONFIG_FILE);
    String text = Files.readString(config);
    Files.writeString(config, text.replaceFirst("\\{", "{\"lora_dropout\": 1e400,"));
    assertThat(refusal().getMessage()).startsWith(config + ": 'lora_dropout' is 1e400, which a 64-bit float cannot hold");
  }

  @Test
  void malformedJsonIsReportedOnOneLine() throws IOException {
    Path manifest = dir.resolve(CompressedFormat.MANIFEST_FILE);
    Files.writeString(manifest, "{\"format\": \"loraquant\",\n\"format_version\": }");
    assertThat(refusal()).hasMessage(manifest + ": malformed JSON: Unexpected character ('}' (code 125)):"
        + " expected a value at line 2, column 19");
  }

  @ParameterizedTest
  @ValueSource(strings = {"12.5", "18446744073709551628", "\"12\"", "-12"})
  void sourceShapeThatIsNotANonNegativeInteger(String dim) throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("loraquant.modules",
        meta.get("loraquant.modules").replace("\"shape_A\":[4,12]", "\"shape_A\":[4," + dim + "]")));
    assertThat(refusal()).hasMessage(model + " __metadata__[loraquant.modules]: tensor '" + MODULE
        + "': 'shape_A' has a bad dimension " + dim + " (expected a non-negative integer)");
  }

  @Test
  void sourceShapeWhoseProductOverflows() throws IOException {
    // (2^62 + 3) x 4 wraps to 12 in 64 bits: the product used to pass as n = 12.
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("loraquant.modules",
        meta.get("loraquant.modules").replace("\"shape_A\":[4,12]", "\"shape_A\":[4,4611686018427387907,4]")));
    assertThat(refusal()).hasMessage(model + " __metadata__[loraquant.modules]: tensor '" + MODULE
        + "': shape_A [4, 4611686018427387907, 4] / shape_B [20, 4] do not match the layer's meta m=20 n=12 rank=4");
  }

  @Test
  void loraFactorNamedTwice() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("loraquant.modules",
        meta.get("loraquant.modules").replace(MODULE + ".lora_B.weight", MODULE + ".lora_A.weight")));
    assertThat(refusal()).hasMessage(model + " __metadata__[loraquant.modules]: tensor '" + MODULE
        + "': LoRA factor name '" + MODULE + ".lora_A.weight' is used twice");
  }

  @Test
  void loraFactorNamedLikeTheMetadataKey() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("loraquant.modules",
        meta.get("loraquant.modules").replace(MODULE + ".lora_B.weight", "__metadata__")));
    assertThat(refusal()).hasMessage(model + " __metadata__[loraquant.modules]: tensor '" + MODULE
        + "': 'lora_B' is '__metadata__', which safetensors reserves for metadata");
  }

  @Test
  void sourceMetadataValueThatIsNotAString() throws IOException {
    // It used to come back as "" (asText of an object): the restored file silently differed.
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("loraquant.source_metadata", "{\"format\":{\"x\":1}}"));
    assertThat(refusal()).hasMessage(model + " __metadata__[loraquant.source_metadata]: value of 'format' is OBJECT,"
        + " expected a string");
  }

  @Test
  void tiersThatStopShortOfK() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> {
      tensors.keySet().removeIf(n -> n.contains(".lq.t1."));
      tensors.put(MODULE + ".lq.meta", ints(MODULE + ".lq.meta", 20, 12, 4, 4, 1, 1));
    });
    assertThat(refusal()).hasMessage(model + ": tensor '" + MODULE + ".lq.meta': tiers cover 1 components, expected k=4");
  }

  @Test
  void layerTensorOfUnlistedModule() throws IOException {
    String stray = "base_model.model.layers.1.self_attn.q_proj.lq.meta";
    CompressedFixture.editModel(dir, (tensors, meta) -> tensors.put(stray, ints(stray, 1, 1, 1, 1, 1, 0)));
    assertThat(refusal()).hasMessage(model + ": tensor '" + stray + "': layer tensor of a module that loraquant.modules does not list");
  }

  @Test
  void zeroPointsInAOneBitTier() throws IOException {
    String stray = MODULE + ".lq.t1.a.zeros";
    CompressedFixture.editModel(dir, (tensors, meta) -> tensors.put(stray, new NamedTensor(stray, DType.U8, new long[] {3, 2}, new byte[6])));
    assertThat(refusal()).hasMessage(model + ": tensor '" + stray + "': a 1-bit tier has no zero points");
  }

  @Test
  void tierBeyondTheMetaCount() throws IOException {
    String stray = MODULE + ".lq.t2.info";
    CompressedFixture.editModel(dir, (tensors, meta) -> tensors.put(stray, ints(stray, 1, 4, 0, 8)));
    assertThat(refusal()).hasMessage(model + ": tensor '" + stray + "': not part of its layer's layout"
        + " (e.g. a tier beyond the meta's tier count)");
  }

  @Test
  void malformedModulesJson() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("loraquant.modules", "{\"" + MODULE + "\": "));
    assertThat(refusal().getMessage()).startsWith(model + " __metadata__[loraquant.modules]: malformed JSON: ");
  }

  @Test
  void modulesJsonThatIsNotAnObject() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("loraquant.modules", "[]"));
    assertThat(refusal()).hasMessage(model + " __metadata__[loraquant.modules]: expected a JSON object");
  }

  @Test
  void missingModulesEntry() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.remove("loraquant.modules"));
    assertThat(refusal()).hasMessage(model + " __metadata__[loraquant.modules]: missing");
  }

  @Test
  void sourceShapeThatContradictsTheMeta() throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> meta.put("loraquant.modules",
        meta.get("loraquant.modules").replace("\"shape_B\":[20,4]", "\"shape_B\":[21,4]")));
    assertThat(refusal()).hasMessage(model + " __metadata__[loraquant.modules]: tensor '" + MODULE
        + "': shape_A [4, 12] / shape_B [21, 4] do not match the layer's meta m=20 n=12 rank=4");
  }

  /**
   * Replaces the fixture layer's meta with these values, drops its tier tensors beyond the first
   * {@code tiers} and makes shape_A / shape_B agree with the new m, n and rank.
   */
  private void declareLayer(int m, int n, int rank, int k, int h, int tiers) throws IOException {
    CompressedFixture.editModel(dir, (tensors, meta) -> {
      for (int i = tiers; i < 2; i++) {
        String tier = MODULE + ".lq.t" + i + ".";
        tensors.keySet().removeIf(name -> name.startsWith(tier));
      }
      tensors.put(MODULE + ".lq.meta", ints(MODULE + ".lq.meta", m, n, rank, k, h, tiers));
      meta.put("loraquant.modules", meta.get("loraquant.modules")
          .replace("\"shape_A\":[4,12]", "\"shape_A\":[" + rank + "," + n + "]")
          .replace("\"shape_B\":[20,4]", "\"shape_B\":[" + m + "," + rank + "]"));
    });
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  private void editConfig(Consumer<ObjectNode> edit) throws IOException {
    Path config = dir.resolve(CompressedFormat.CONFIG_FILE);
    ObjectNode root = (ObjectNode) JSON.readTree(config.toFile());
    edit.accept((ObjectNode) root.get(CompressedFormat.CONFIG_BLOCK));
    Files.write(config, JSON.writeValueAsBytes(root));
  }

  private static NamedTensor ints(String name, int... values) {
    ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : values) {
      bb.putInt(v);
    }
    return new NamedTensor(name, DType.I32, new long[] {values.length}, bb.array());
  }
}
