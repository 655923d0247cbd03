package org.loraquant.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.loraquant.codec.BudgetLayer;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.LevelFamily;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.VectorCode;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.AdapterDecompressor;
import org.loraquant.compress.BudgetCompressionResult;
import org.loraquant.compress.OutputDType;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.LocalFileIO;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.SyntheticAdapter;
import org.loraquant.testing.UpdateError;

/** The budget mode through the folder: compress, write version 2, read, decompress. */
class BudgetAdapterFolderTest {
  private static final String Q = "base_model.model.layers.0.self_attn.q_proj";
  private static final String V = "base_model.model.layers.0.self_attn.v_proj";
  private static final String HEAD = "base_model.model.score.weight";
  /** Low enough that the allocation drops components, high enough for every layer's guard. */
  private static final BudgetSettings SETTINGS = BudgetSettings.of(1.5).withGroupSize(32);

  @TempDir Path tmp;

  private PeftAdapter source() throws IOException {
    Path dir = new SyntheticAdapter(11, 8)
        .linear(Q, 128, 96, 8, DType.F32, false)
        .linear(V, 96, 150, 8, DType.BF16, false)
        .passThrough(HEAD, DType.F32, 3, 96)
        .writeTo(tmp.resolve("source"));
    return PeftAdapterReader.open(new LocalFileIO(), dir.toString());
  }

  private BudgetCompressionResult writeFolder(PeftAdapter source, BudgetSettings settings, Path out)
      throws IOException {
    BudgetCompressionResult result = AdapterCompressor.compressBudget(source, settings, LinearAlgebra.javaOnly());
    CompressedAdapterWriter.write(new LocalFileIO(), out.toString(), result.adapter(), result.manifestJson(null));
    return result;
  }

  @Test
  void roundTripGivesTheOriginalRankAndTheErrorTheStatsReport() throws IOException {
    PeftAdapter source = source();
    Path out = tmp.resolve("out");
    BudgetCompressionResult result = writeFolder(source, SETTINGS, out);
    assertThat(result.layers()).anySatisfy(l -> assertThat(l.stats().kept()).isLessThan(l.stats().k()));
    assertThat(result.effectiveBits()).isLessThanOrEqualTo((long) Math.floor(1.5 * result.params()));

    ObjectMapper json = new ObjectMapper();
    JsonNode block = json.readTree(Files.readAllBytes(out.resolve(CompressedFormat.CONFIG_FILE))).get("loraquant");
    assertThat(block.get("format_version").intValue()).isEqualTo(2);
    assertThat(block.get("mode").textValue()).isEqualTo("budget");
    assertThat(block.get("levels").textValue()).isEqualTo("lloyd-max");
    assertThat(block.get("scope").textValue()).isEqualTo("adapter");
    assertThat(block.get("budget").doubleValue()).isEqualTo(1.5);

    CompressedAdapter read = CompressedAdapterReader.read(new LocalFileIO(), out.toString()).adapter();
    assertThat(read.formatVersion()).isEqualTo(2);
    assertThat(CompressedAdapterWriter.modelBytes(read)).isEqualTo(CompressedAdapterWriter.modelBytes(result.adapter()));

    Path peft = tmp.resolve("peft");
    AdapterDecompressor.write(new LocalFileIO(), peft.toString(), read, OutputDType.F32);
    PeftAdapter decoded = PeftAdapterReader.open(new LocalFileIO(), peft.toString());
    assertThat(decoded.passThrough()).extracting(t -> t.name()).containsExactly(HEAD);
    Map<String, LoraFactors> original = factors(source);
    Map<String, LoraFactors> restored = factors(decoded);
    for (BudgetCompressionResult.Layer layer : result.layers()) {
      LoraFactors f = original.get(layer.module());
      LoraFactors g = restored.get(layer.module());
      assertThat(g.r()).isEqualTo(f.r());
      int[] widths = layer.stats().widths();
      for (int i = 0; i < widths.length; i++) {
        if (widths[i] == 0) {
          for (int x = 0; x < g.m(); x++) {
            assertThat(g.b()[x * g.r() + i]).isZero();
          }
          for (int y = 0; y < g.n(); y++) {
            assertThat(g.a()[i * g.n() + y]).isZero();
          }
        }
      }
      assertThat(UpdateError.of(f, g).relative()).isCloseTo(layer.stats().relError(), org.assertj.core.data.Percentage.withPercentage(1e-3));
    }
  }

  @Test
  void bothLevelFamiliesAndTheLayerScopeReadBack() throws IOException {
    PeftAdapter source = source();
    BudgetSettings settings = BudgetSettings.of(3).withGroupSize(32).withLevels(LevelFamily.UNIFORM)
        .withScope(BudgetScope.LAYER).withRefit(0);
    Path out = tmp.resolve("uniform");
    BudgetCompressionResult result = writeFolder(source, settings, out);
    CompressedAdapter read = CompressedAdapterReader.read(new LocalFileIO(), out.toString()).adapter();
    assertThat(read.layers()).allSatisfy(l -> assertThat(l.budget().levels()).isEqualTo(LevelFamily.UNIFORM));
    assertThat(CompressedAdapterWriter.modelBytes(read)).isEqualTo(CompressedAdapterWriter.modelBytes(result.adapter()));
  }

  @Test
  void aFlippedCodeByteIsRefusedWithTheLayersName() throws IOException {
    Path out = tmp.resolve("flipped");
    writeFolder(source(), SETTINGS, out);
    CompressedFixture.editModel(out, (tensors, meta) -> {
      NamedTensor codes = tensors.get(V + ".lq.b.codes");
      byte[] data = codes.data().clone();
      data[0] ^= 0x10;
      tensors.put(codes.name(), new NamedTensor(codes.name(), codes.dtype(), codes.shape(), data));
    });
    assertThatThrownBy(() -> CompressedAdapterReader.read(new LocalFileIO(), out.toString()))
        .isInstanceOf(InvalidAdapterException.class)
        .hasMessageContaining(V + ".lq.crc")
        .hasMessageContaining("CRC-32C");
  }

  @Test
  void versionsOfTheModelFileAndTheConfigMustAgree() throws IOException {
    Path out = tmp.resolve("mixed");
    writeFolder(source(), SETTINGS, out);
    CompressedFixture.editModel(out, (tensors, meta) -> meta.put(CompressedFormat.META_FORMAT_VERSION, "1"));
    assertThatThrownBy(() -> CompressedAdapterReader.read(new LocalFileIO(), out.toString()))
        .isInstanceOf(InvalidAdapterException.class)
        .hasMessageContaining(CompressedFormat.MODEL_FILE + " __metadata__")
        .hasMessageContaining("format version 1, but")
        .hasMessageContaining("says version 2");
  }

  @Test
  void aPaperModeFolderIsStillVersionOne(@TempDir Path work) throws IOException {
    Path out = work.resolve("paper");
    CompressedFixture.write(work, out);
    JsonNode block = new ObjectMapper().readTree(Files.readAllBytes(out.resolve(CompressedFormat.CONFIG_FILE)))
        .get("loraquant");
    assertThat(block.get("format_version").intValue()).isEqualTo(1);
    assertThat(block.has("mode")).isFalse();
    assertThat(CompressedAdapterReader.read(new LocalFileIO(), out.toString()).adapter().formatVersion()).isEqualTo(1);
  }

  @Test
  void everyFlippedByteOfTheModelFileDecodesOrIsRefusedWithOneLine() throws IOException {
    Path out = tmp.resolve("fuzzed");
    writeFolder(source(), SETTINGS, out);
    Path model = out.resolve(CompressedFormat.MODEL_FILE);
    byte[] intact = Files.readAllBytes(model);
    java.util.Random random = new java.util.Random(18);
    int refused = 0;
    for (int i = 0; i < 300; i++) {
      byte[] bytes = intact.clone();
      int at = random.nextInt(bytes.length);
      bytes[at] ^= (byte) (1 << random.nextInt(8));
      Files.write(model, bytes);
      try {
        CompressedAdapter read = CompressedAdapterReader.read(new LocalFileIO(), out.toString()).adapter();
        AdapterDecompressor.decompress(read, OutputDType.F32);
      } catch (org.loraquant.errors.LoraQuantException e) {
        assertThat(e.getMessage()).as("byte " + at).doesNotContain("\n");
        refused++;
      }
    }
    // The data area is most of the file and every byte of it is under a layer's CRC or a
    // pass-through tensor; header flips are refused as malformed JSON or bad names.
    assertThat(refused).isGreaterThan(150);
  }

  @Test
  void trimRankWritesTheKeptRankWithPatternsThatKeepPeftsScale() throws IOException {
    PeftAdapter source = source();
    Path out = tmp.resolve("trim");
    BudgetCompressionResult result = writeFolder(source, SETTINGS, out);
    CompressedAdapter read = CompressedAdapterReader.read(new LocalFileIO(), out.toString()).adapter();
    Path full = tmp.resolve("trim-full");
    Path trimmed = tmp.resolve("trim-kept");
    AdapterDecompressor.write(new LocalFileIO(), full.toString(), read, OutputDType.F32);
    AdapterDecompressor.write(new LocalFileIO(), trimmed.toString(), read, OutputDType.F32, true);

    JsonNode config = new ObjectMapper().readTree(trimmed.resolve("adapter_config.json").toFile());
    Map<String, LoraFactors> fullFactors = factors(PeftAdapterReader.open(new LocalFileIO(), full.toString()));
    PeftAdapter trimmedAdapter = PeftAdapterReader.open(new LocalFileIO(), trimmed.toString());
    Map<String, LoraFactors> kept = factors(trimmedAdapter);
    assertThat(trimmedAdapter.passThrough()).extracting(t -> t.name()).containsExactly(HEAD);
    int largest = 0;
    for (BudgetCompressionResult.Layer layer : result.layers()) {
      String key = layer.module().substring("base_model.model.".length());
      LoraFactors f = fullFactors.get(layer.module());
      LoraFactors g = kept.get(layer.module());
      int p = layer.stats().kept();
      assertThat(p).as(key).isLessThan(f.r());
      assertThat(g.r()).isEqualTo(p);
      largest = Math.max(largest, p);
      assertThat(config.get("rank_pattern").get(key).intValue()).isEqualTo(p);
      // PEFT scales by alpha / r: alpha 16 at rank 8 is alpha 2 p at rank p.
      assertThat(config.get("alpha_pattern").get(key).doubleValue()).isEqualTo(16.0 * p / 8);
      // The same product B^ A^, entry by entry (the dropped components were zeros).
      for (int x = 0; x < f.m(); x++) {
        for (int y = 0; y < f.n(); y++) {
          double a = 0;
          double b = 0;
          for (int i = 0; i < f.r(); i++) {
            a += (double) f.b()[x * f.r() + i] * f.a()[i * f.n() + y];
          }
          for (int i = 0; i < p; i++) {
            b += (double) g.b()[x * p + i] * g.a()[i * g.n() + y];
          }
          assertThat(b).isCloseTo(a, org.assertj.core.api.Assertions.within(1e-12 + 1e-9 * Math.abs(a)));
        }
      }
    }
    assertThat(config.get("r").intValue()).isEqualTo(largest);
    assertThat(config.get("lora_alpha").intValue()).isEqualTo(16);
    // Without the flag, the config is the source's.
    assertThat(new ObjectMapper().readTree(full.resolve("adapter_config.json").toFile()).has("rank_pattern"))
        .isFalse();
  }

  /**
   * Replaces layer V by one of m x n, rank r whose k = r components are all dropped: nothing but
   * its width map and meta is stored (a valid CRC included), and it decodes to r (m + n) zeros.
   */
  private static void declareDroppedLayer(Path folder, int m, int n, int r) throws IOException {
    VectorCode[] none = new VectorCode[r];
    BudgetLayer dropped = new BudgetLayer(m, n, r, LevelFamily.LLOYD_MAX, 32, new int[r], none, none);
    CompressedFixture.editModel(folder, (tensors, meta) -> {
      tensors.keySet().removeIf(name -> name.startsWith(V + ".lq."));
      for (NamedTensor t : BudgetLayerLayout.toTensors(V, dropped)) {
        tensors.put(t.name(), t);
      }
      try {
        ObjectNode modules = (ObjectNode) new ObjectMapper().readTree(meta.get("loraquant.modules"));
        ObjectNode v = (ObjectNode) modules.get(V);
        v.putArray("shape_A").add(r).add(n);
        v.putArray("shape_B").add(m).add(r);
        meta.put("loraquant.modules", new ObjectMapper().writeValueAsString(modules));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
  }

  @Test
  void droppedComponentsDecodingToZerosOutOfProportionToTheFileAreRefused() throws IOException {
    Path out = tmp.resolve("hostile");
    writeFolder(source(), SETTINGS, out);
    // 4096 dropped components of 2^15 values: 2^27 zeros (512 MiB as F32) from a file of a few KB.
    declareDroppedLayer(out, 1 << 14, 1 << 14, 4096);
    long fileBytes = Files.size(out.resolve(CompressedFormat.MODEL_FILE));
    long allowed = CompressedAdapterReader.MAX_ZERO_PADDING_VALUES
        + CompressedAdapterReader.MAX_DROPPED_ZEROS_PER_FILE_BYTE * fileBytes;
    assertThatThrownBy(() -> CompressedAdapterReader.read(new LocalFileIO(), out.toString()))
        .isInstanceOf(InvalidAdapterException.class)
        .hasMessageMatching(java.util.regex.Pattern.quote(out.resolve(CompressedFormat.MODEL_FILE) + ": tensor '" + V
            + ".lq.widths': 4096 dropped components (width 0) bring the zeros decoded without stored data to ")
            // 2^27, plus those of layer Q's own dropped components
            + "1342\\d{5} values, more than the " + allowed + " a reader accepts from this " + fileBytes
            + "-byte file \\(16777216 \\+ 256 per byte\\)");
  }

  @Test
  void aFactorTooLargeForOneArrayIsRefusedBeforeAnythingIsDecoded() throws IOException {
    Path out = tmp.resolve("huge");
    writeFolder(source(), SETTINGS, out);
    // 2^20 x 4096 = 2^32 values per factor, all dropped: the widths cost 4 KB.
    declareDroppedLayer(out, 1 << 20, 1 << 20, 4096);
    assertThatThrownBy(() -> CompressedAdapterReader.read(new LocalFileIO(), out.toString()))
        .isInstanceOf(InvalidAdapterException.class)
        .hasMessage(out.resolve(CompressedFormat.MODEL_FILE) + ": tensor '" + V + ".lq.meta2': a 1048576 x"
            + " 1048576 layer of rank 4096 decodes to factors of 4294967296 and 4294967296 values; one factor"
            + " may hold at most 2147483639");
  }

  @Test
  void aNonFiniteScaleBehindAMatchingCrcIsRefused() throws IOException {
    short[][] cases = {{0x7e00, 0}, {(short) 0xfc00, 1}};
    String[] shown = {"NaN (binary16 bits 0x7e00)", "-Infinity (binary16 bits 0xfc00)"};
    for (int c = 0; c < cases.length; c++) {
      Path out = tmp.resolve("scale" + c);
      writeFolder(source(), SETTINGS, out);
      short bits = cases[c][0];
      boolean sideA = cases[c][1] == 1;
      // Rewrite layer V with the second scale of its first kept component (the tensor's scale 1:
      // dropped components have none) replaced, through the layout, so the CRC is recomputed.
      CompressedFixture.editModel(out, (tensors, meta) -> {
        BudgetLayer layer = BudgetLayerLayout.fromTensors(V, tensors::get, "edit");
        for (VectorCode code : sideA ? layer.a() : layer.b()) {
          if (code != null) {
            code.scales()[1] = bits;
            break;
          }
        }
        tensors.keySet().removeIf(name -> name.startsWith(V + ".lq."));
        for (NamedTensor t : BudgetLayerLayout.toTensors(V, layer)) {
          tensors.put(t.name(), t);
        }
      });
      String tensor = V + ".lq." + (sideA ? "a" : "b") + ".scales";
      assertThatThrownBy(() -> CompressedAdapterReader.read(new LocalFileIO(), out.toString()))
          .isInstanceOf(InvalidAdapterException.class)
          .hasMessage(out.resolve(CompressedFormat.MODEL_FILE) + ": tensor '" + tensor + "': scale 1 is "
              + shown[c] + "; scales must be finite");
    }
  }

  @Test
  void droppedComponentsWithinTheBoundDecodeToZeros() throws IOException {
    Path out = tmp.resolve("dropped");
    writeFolder(source(), SETTINGS, out);
    declareDroppedLayer(out, 300, 200, 6);
    CompressedAdapter read = CompressedAdapterReader.read(new LocalFileIO(), out.toString()).adapter();
    Path peft = tmp.resolve("dropped-peft");
    AdapterDecompressor.write(new LocalFileIO(), peft.toString(), read, OutputDType.F32);
    LoraFactors v = factors(PeftAdapterReader.open(new LocalFileIO(), peft.toString())).get(V);
    assertThat(v.r()).isEqualTo(6);
    assertThat(v.b()).hasSize(300 * 6).containsOnly(0f);
    assertThat(v.a()).hasSize(6 * 200).containsOnly(0f);
  }

  private static Map<String, LoraFactors> factors(PeftAdapter adapter) {
    Map<String, LoraFactors> out = new HashMap<>();
    for (LoraModule module : adapter.modules()) {
      out.put(module.module(), PeftAdapterReader.readFactors(adapter, module));
    }
    return out;
  }
}
