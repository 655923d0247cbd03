package org.loraquant.format;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.CompressedLayer;
import org.loraquant.codec.QuantTier;
import org.loraquant.codec.Refinement;
import org.loraquant.codec.SplitRule;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.AdapterDecompressor;
import org.loraquant.compress.CompressionManifest;
import org.loraquant.compress.CompressionResult;
import org.loraquant.compress.OutputDType;
import org.loraquant.io.LocalFileIO;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.SyntheticAdapter;

/**
 * Golden files of format version 1 (src/test/resources/golden/v1, see the README there), tested
 * both ways: the committed compressed folders decode to the committed values, and compressing
 * the same sources today reproduces the committed files byte for byte.
 */
class GoldenFilesTest {
  static final Path GOLDEN = Path.of("src/test/resources/golden/v1");
  static final String REGENERATE = "loraquant.golden.regenerate";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One golden adapter: its source, built in code, the settings and what it must exercise. */
  record Case(String name, SyntheticAdapter source, CodecSettings settings, Consumer<CompressedAdapter> covers) {
    @Override
    public String toString() {
      return name;
    }
  }

  static List<Case> cases() {
    CodecSettings base = CodecSettings.defaults();
    return List.of(
        new Case("linear-b2-g8",
            new SyntheticAdapter(11, 4)
                .linear("base_model.model.layers.0.self_attn.q_proj", 20, 13, 4, DType.F32, false)
                .linear("base_model.model.layers.0.self_attn.v_proj", 3, 10, 6, DType.F16, false)
                .linear("base_model.model.layers.1.self_attn.k_proj", 9, 7, 2, DType.BF16, true),
            base.withGroupSize(8),
            a -> {
              assertThat(a.layers()).extracting(l -> l.layer().k()).containsExactly(4, 3, 2);
              assertThat(a.layers().get(1).layer().rank()).isEqualTo(6); // v_proj: k = m = 3 < r = 6
            }),
        new Case("conv-passthrough-b3-g16-search",
            new SyntheticAdapter(12, 4)
                .conv("unet.down.0.conv", 6, 3, 3, 3, 4)
                .linear("unet.mid.attn.to_out.0", 17, 33, 8, DType.F32, false)
                .passThrough("classifier.weight", DType.F32, 2, 17)
                .passThrough("classifier.bias", DType.F16, 2),
            base.withBitsHigh(3).withGroupSize(16).withRho(0.9).withSplitRule(SplitRule.REFERENCE)
                .withRefinement(Refinement.SEARCH),
            a -> {
              assertThat(a.layers().get(0).source().shapeA()).containsExactly(4, 3, 3, 3);
              assertThat(a.passThrough()).extracting(NamedTensor::name).containsExactly("classifier.bias", "classifier.weight");
            }),
        new Case("one-bit-g16",
            new SyntheticAdapter(13, 3).linear("model.layers.0.mlp.down_proj", 24, 18, 3, DType.F32, false),
            base.withBitsHigh(1).withGroupSize(16),
            a -> assertThat(a.layers().get(0).layer().tiers()).extracting(QuantTier::bits).containsOnly(1)));
  }

  /** With -Dloraquant.golden.regenerate=true, rewrites the committed files first. */
  @BeforeAll
  static void regenerateWhenAsked(@TempDir Path tmp) throws IOException {
    if (!Boolean.getBoolean(REGENERATE)) {
      return;
    }
    for (Case c : cases()) {
      Path dir = GOLDEN.resolve(c.name());
      new LocalFileIO().deleteRecursively(dir.toString());
      CompressionResult result = compress(c, tmp);
      CompressedAdapterWriter.write(new LocalFileIO(), dir.resolve("compressed").toString(), result.adapter(),
          manifest(result, c));
      AdapterDecompressor.write(new LocalFileIO(), dir.resolve("decompressed").toString(), result.adapter(), OutputDType.F32);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void committedFilesDecodeToTheCommittedValues(Case c) throws IOException {
    Path dir = GOLDEN.resolve(c.name());
    CompressedAdapter adapter = CompressedAdapterReader.read(new LocalFileIO(), dir.resolve("compressed").toString()).adapter();
    c.covers().accept(adapter);
    for (CompressedAdapter.Layer l : adapter.layers()) {
      CompressedLayer layer = l.layer();
      int g = layer.tiers().get(0).b().groupSize();
      assertThat(layer.m() % g != 0 || layer.n() % g != 0).as(l.module() + ": a partial last group").isTrue();
    }
    AdapterDecompressor.PeftFiles expected = AdapterDecompressor.decompress(adapter, OutputDType.F32);
    assertThat(expected.weights()).isEqualTo(Files.readAllBytes(dir.resolve("decompressed/adapter_model.safetensors")));
    assertThat(expected.config()).isEqualTo(Files.readAllBytes(dir.resolve("decompressed/adapter_config.json")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void compressingTheSourceTodayReproducesTheCommittedFiles(Case c, @TempDir Path tmp) throws IOException {
    Path committed = GOLDEN.resolve(c.name()).resolve("compressed");
    CompressionResult result = compress(c, tmp);
    assertThat(CompressedAdapterWriter.modelBytes(result.adapter()))
        .as("%s drifted from %s; if the change is intended, bump the format version or regenerate with -D%s=true",
            CompressedFormat.MODEL_FILE, committed, REGENERATE)
        .isEqualTo(Files.readAllBytes(committed.resolve(CompressedFormat.MODEL_FILE)));
    assertThat(CompressedAdapterWriter.configBytes(result.adapter()))
        .isEqualTo(Files.readAllBytes(committed.resolve(CompressedFormat.CONFIG_FILE)));
    // The manifest records timings, which differ from run to run; everything else must match.
    assertThat(withoutTimings(manifest(result, c)))
        .isEqualTo(withoutTimings(Files.readAllBytes(committed.resolve(CompressedFormat.MANIFEST_FILE))));
  }

  private static CompressionResult compress(Case c, Path tmp) throws IOException {
    Path source = c.source().writeTo(tmp.resolve("source-" + c.name()));
    return AdapterCompressor.compress(PeftAdapterReader.open(new LocalFileIO(), source.toString()), c.settings(),
        LinearAlgebra.javaOnly());
  }

  private static byte[] manifest(CompressionResult result, Case c) throws IOException {
    return CompressionManifest.of(result, null, Map.of()).toJson(c.settings());
  }

  private static JsonNode withoutTimings(byte[] manifest) throws IOException {
    JsonNode root = JSON.readTree(manifest);
    for (JsonNode layer : root.path("layers")) {
      ((ObjectNode) layer).remove("nanos");
    }
    return root;
  }
}
