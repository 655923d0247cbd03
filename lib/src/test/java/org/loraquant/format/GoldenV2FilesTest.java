package org.loraquant.format;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.loraquant.codec.BudgetLayer;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.LevelFamily;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.AdapterDecompressor;
import org.loraquant.compress.BudgetCompressionResult;
import org.loraquant.compress.OutputDType;
import org.loraquant.io.LocalFileIO;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.SyntheticAdapter;

/**
 * Golden files of format version 2 (src/test/resources/golden/v2, see the README there), tested
 * both ways as version 1's ({@link GoldenFilesTest}): the committed folders decode to the
 * committed values, and compressing the same sources today reproduces them byte for byte.
 */
class GoldenV2FilesTest {
  static final Path GOLDEN = Path.of("src/test/resources/golden/v2");
  private static final ObjectMapper JSON = new ObjectMapper();

  record Case(String name, BudgetSettings settings, Consumer<CompressedAdapter> covers) {
    @Override
    public String toString() {
      return name;
    }
  }

  /** Three layers: ranks 12, 6 and 4 (an all-zero B), in each an m or n that is not a multiple of the group of 8. */
  static SyntheticAdapter source() {
    return new SyntheticAdapter(21, 12)
        .linear("base_model.model.layers.0.self_attn.q_proj", 40, 27, 12, DType.F32, false)
        .linear("base_model.model.layers.0.self_attn.v_proj", 19, 33, 6, DType.F16, false)
        .linear("base_model.model.layers.1.self_attn.q_proj", 23, 16, 4, DType.BF16, true)
        .passThrough("base_model.model.score.weight", DType.F32, 2, 27);
  }

  static List<Case> cases() {
    return List.of(
        new Case("uniform-layer-b6-g8",
            BudgetSettings.of(6).withGroupSize(8).withLevels(LevelFamily.UNIFORM).withScope(BudgetScope.LAYER),
            a -> {
              assertThat(widthsUsed(a)).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8);
              assertThat(a.layers()).allSatisfy(l -> assertThat(l.budget().levels()).isEqualTo(LevelFamily.UNIFORM));
            }),
        new Case("lloyd-max-layer-b6-g8",
            BudgetSettings.of(6).withGroupSize(8).withScope(BudgetScope.LAYER),
            a -> {
              assertThat(widthsUsed(a)).containsExactly(0, 2, 3, 4, 5, 6, 7, 8);
              assertThat(a.layers()).allSatisfy(l -> assertThat(l.budget().levels()).isEqualTo(LevelFamily.LLOYD_MAX));
            }),
        new Case("lloyd-max-adapter-b3-g8",
            BudgetSettings.of(3).withGroupSize(8),
            a -> {
              // Most components dropped; the all-zero layer keeps only its guard component.
              assertThat(widthsUsed(a)).contains(0, 2);
              assertThat(a.layers().get(2).budget().widths()).containsExactly(2, 0, 0, 0);
            }));
  }

  private static TreeSet<Integer> widthsUsed(CompressedAdapter a) {
    TreeSet<Integer> used = new TreeSet<>();
    for (CompressedAdapter.Layer l : a.layers()) {
      Arrays.stream(l.budget().widths()).forEach(used::add);
    }
    return used;
  }

  /** With -Dloraquant.golden.regenerate=true, rewrites the committed files first. */
  @BeforeAll
  static void regenerateWhenAsked(@TempDir Path tmp) throws IOException {
    if (!Boolean.getBoolean(GoldenFilesTest.REGENERATE)) {
      return;
    }
    for (Case c : cases()) {
      Path dir = GOLDEN.resolve(c.name());
      new LocalFileIO().deleteRecursively(dir.toString());
      BudgetCompressionResult result = compress(c, tmp);
      CompressedAdapterWriter.write(new LocalFileIO(), dir.resolve("compressed").toString(), result.adapter(),
          result.manifestJson(null));
      AdapterDecompressor.write(new LocalFileIO(), dir.resolve("decompressed").toString(), result.adapter(),
          OutputDType.F32);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void committedFilesDecodeToTheCommittedValues(Case c) throws IOException {
    Path dir = GOLDEN.resolve(c.name());
    CompressedAdapter adapter =
        CompressedAdapterReader.read(new LocalFileIO(), dir.resolve("compressed").toString()).adapter();
    assertThat(adapter.formatVersion()).isEqualTo(2);
    c.covers().accept(adapter);
    for (CompressedAdapter.Layer l : adapter.layers()) {
      BudgetLayer layer = l.budget();
      assertThat(layer.m() % layer.groupSize() != 0 || layer.n() % layer.groupSize() != 0)
          .as(l.module() + ": a partial last group").isTrue();
    }
    AdapterDecompressor.PeftFiles expected = AdapterDecompressor.decompress(adapter, OutputDType.F32);
    assertThat(expected.weights()).isEqualTo(Files.readAllBytes(dir.resolve("decompressed/adapter_model.safetensors")));
    assertThat(expected.config()).isEqualTo(Files.readAllBytes(dir.resolve("decompressed/adapter_config.json")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void compressingTheSourceTodayReproducesTheCommittedFiles(Case c, @TempDir Path tmp) throws IOException {
    Path committed = GOLDEN.resolve(c.name()).resolve("compressed");
    BudgetCompressionResult result = compress(c, tmp);
    assertThat(CompressedAdapterWriter.modelBytes(result.adapter()))
        .as("%s drifted from %s; if the change is intended, bump the format version or regenerate with -D%s=true",
            CompressedFormat.MODEL_FILE, committed, GoldenFilesTest.REGENERATE)
        .isEqualTo(Files.readAllBytes(committed.resolve(CompressedFormat.MODEL_FILE)));
    assertThat(CompressedAdapterWriter.configBytes(result.adapter()))
        .isEqualTo(Files.readAllBytes(committed.resolve(CompressedFormat.CONFIG_FILE)));
    assertThat(withoutTimings(result.manifestJson(null)))
        .isEqualTo(withoutTimings(Files.readAllBytes(committed.resolve(CompressedFormat.MANIFEST_FILE))));
  }

  private static BudgetCompressionResult compress(Case c, Path tmp) throws IOException {
    Path source = source().writeTo(tmp.resolve("source-" + c.name()));
    return AdapterCompressor.compressBudget(PeftAdapterReader.open(new LocalFileIO(), source.toString()),
        c.settings(), LinearAlgebra.javaOnly());
  }

  private static JsonNode withoutTimings(byte[] manifest) throws IOException {
    JsonNode root = JSON.readTree(manifest);
    for (JsonNode layer : root.path("layers")) {
      ((ObjectNode) layer).remove("nanos");
    }
    return root;
  }
}
