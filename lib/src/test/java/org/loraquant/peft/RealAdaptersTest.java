package org.loraquant.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.loraquant.codec.LoraFactors;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.LocalFileIO;
import org.loraquant.safetensors.TensorInfo;
import org.loraquant.testing.SharedAdapters;

/**
 * Every real adapter in {@code ../shared/adapters/real}. Totals come from INDEX.tsv; the pair
 * counts and first-module shapes were read independently with a few lines of Python (json + struct)
 * over the same files.
 */
class RealAdaptersTest {

  /** Pairs, pass-through tensors, and (m, n, rank) of the alphabetically first module. */
  private record Expected(int pairs, int passThrough, int m, int n, int rank) {}

  private static final Map<String, Expected> EXPECTED =
      Map.ofEntries(
          Map.entry("bert-base-dense-qkv-r4", new Expected(73, 2, 768, 768, 4)),
          Map.entry("distilbert-seqcls-qkvo-r8", new Expected(24, 4, 768, 768, 8)),
          Map.entry("distilgpt2-cattn-r8-f16", new Expected(6, 0, 2304, 768, 8)),
          Map.entry("flan-t5-small-qkv-r8", new Expected(72, 0, 384, 512, 8)),
          Map.entry("gemma3-270m-qkvo-r4", new Expected(72, 0, 256, 640, 4)),
          Map.entry("gpt-oss-20b-qv-r4", new Expected(48, 0, 4096, 2880, 4)),
          Map.entry("gpt2-cattn-cproj-r8", new Expected(36, 0, 2304, 768, 8)),
          Map.entry("gpt2-nested-prefix-mismatch", new Expected(48, 0, 2304, 768, 4)),
          Map.entry("gpt2-seqcls-r2", new Expected(12, 1, 2304, 768, 2)),
          Map.entry("llama3.2-1b-qv-r8", new Expected(32, 0, 2048, 2048, 8)),
          Map.entry("minilm-explicit-targets-r8", new Expected(18, 0, 384, 384, 8)),
          Map.entry("open-calm-1b-qkv-r1-f16", new Expected(24, 0, 6144, 2048, 1)),
          Map.entry("opt-125m-qv-r16-bf16", new Expected(24, 0, 768, 768, 16)),
          Map.entry("privacy-filter-tokcls-r16", new Expected(32, 2, 128, 640, 16)),
          Map.entry("qwen2.5-0.5b-qv-r8", new Expected(48, 0, 896, 896, 8)),
          Map.entry("roberta-base-qkv-r7", new Expected(36, 4, 768, 768, 7)),
          Map.entry("sd-unet-attn-r4", new Expected(128, 0, 320, 320, 4)),
          Map.entry("smollm-360m-nested-qv-r8", new Expected(64, 0, 960, 960, 8)),
          Map.entry("stella-400m-oproj-r16", new Expected(24, 0, 1024, 1024, 16)),
          Map.entry("timm-convnext-tiny-fc-r8", new Expected(36, 0, 384, 96, 8)),
          Map.entry("tiny-gpt2-r4-lora-only-bias", new Expected(6, 0, 6, 2, 4)),
          Map.entry("vit-age-qv-r16", new Expected(24, 2, 768, 768, 16)),
          Map.entry("whisper-small-qv-r8", new Expected(72, 0, 768, 768, 8)));

  /** Adapters whose lora_B are all zero: saved before any training step. */
  private static final Set<String> UNTRAINED =
      Set.of("minilm-explicit-targets-r8", "stella-400m-oproj-r16");

  /** One row of INDEX.tsv. */
  private record IndexRow(
      String name,
      String peftType,
      String r,
      String alpha,
      int tensors,
      Set<String> dtypes,
      long params,
      long bytes) {

    static IndexRow parse(String line) {
      String[] f = line.split("\t", -1);
      return new IndexRow(
          f[0],
          f[2],
          f[3],
          f[4],
          Integer.parseInt(f[6]),
          Set.of(f[7].split(",")),
          Long.parseLong(f[8]),
          Long.parseLong(f[9]));
    }
  }

  private static List<IndexRow> index(Path folder) throws IOException {
    try (Stream<String> lines = Files.lines(folder.resolve("INDEX.tsv"))) {
      return lines
          .skip(1)
          .filter(l -> !l.isBlank())
          .map(IndexRow::parse)
          .collect(Collectors.toList());
    }
  }

  @Test
  void indexListsTheExpectedAdapters() throws IOException {
    List<IndexRow> rows = index(SharedAdapters.folder());
    assertThat(rows.stream().filter(r -> r.peftType().equals("LORA")).map(IndexRow::name))
        .containsExactlyInAnyOrderElementsOf(EXPECTED.keySet());
    assertThat(rows).hasSize(24);
  }

  @TestFactory
  Stream<DynamicTest> everyLoraAdapterReadsCompletely() throws IOException {
    Path folder = SharedAdapters.folder();
    return index(folder).stream()
        .filter(row -> row.peftType().equals("LORA"))
        .map(row -> DynamicTest.dynamicTest(row.name(), () -> checkAdapter(folder, row)));
  }

  private static void checkAdapter(Path folder, IndexRow row) {
    PeftAdapter adapter =
        PeftAdapterReader.open(new LocalFileIO(), folder.resolve(row.name()).toString());
    Expected expected = EXPECTED.get(row.name());

    assertThat(adapter.modules()).hasSize(expected.pairs());
    assertThat(adapter.passThrough()).hasSize(expected.passThrough());
    assertThat(adapter.modules().size() * 2 + adapter.passThrough().size())
        .isEqualTo(row.tensors());
    assertThat(adapter.totalParams()).isEqualTo(row.params());
    assertThat(adapter.fileBytes()).isEqualTo(row.bytes());
    assertThat(
            adapter.header().tensors().stream()
                .map(t -> t.dtype().name())
                .collect(Collectors.toSet()))
        .isEqualTo(row.dtypes());

    LoraModule first = adapter.modules().get(0);
    assertThat(List.of(first.m(), first.n(), first.rank()))
        .containsExactly(expected.m(), expected.n(), expected.rank());
    assertThat(adapter.modules()).extracting(LoraModule::module).isSorted().doesNotHaveDuplicates();
    assertThat(adapter.modules())
        .allSatisfy(m -> assertThat(m.module()).startsWith("base_model.model."));

    assertThat(adapter.config().peftType()).hasValue("LORA");
    assertThat(adapter.config().r()).hasValue(Integer.parseInt(row.r()));
    assertThat(adapter.config().loraAlpha()).hasValue(Double.parseDouble(row.alpha()));
    Set<Integer> ranks =
        adapter.modules().stream()
            .map(LoraModule::rank)
            .collect(Collectors.toCollection(TreeSet::new));
    if (row.name().equals("gpt2-nested-prefix-mismatch")) {
      // Mixes rank 4 and rank 8 with an empty rank_pattern: ranks come from the tensors.
      assertThat(ranks).containsExactly(4, 8);
    } else {
      assertThat(ranks).containsExactly(Integer.parseInt(row.r()));
    }

    boolean anyNonZeroB = false;
    for (LoraModule m : adapter.modules()) {
      LoraFactors f = PeftAdapterReader.readFactors(adapter, m);
      assertThat(f.b()).hasSize(m.m() * m.rank());
      assertThat(f.a()).hasSize(m.rank() * m.n());
      anyNonZeroB |= anyNonZero(f.b());
      assertThat(anyNonZero(f.a())).as("lora_A of %s", m.module()).isTrue();
    }
    assertThat(anyNonZeroB).isEqualTo(!UNTRAINED.contains(row.name()));
    for (TensorInfo t : adapter.passThrough()) {
      assertThat((long) PeftAdapterReader.readTensorBytes(adapter, t).length)
          .isEqualTo(t.byteLength());
    }
  }

  private static boolean anyNonZero(float[] values) {
    for (float v : values) {
      if (v != 0) {
        return true;
      }
    }
    return false;
  }

  @Test
  void gpt2ConvOneDModulesAreReadAsOutByIn() {
    // GPT-2 Conv1D stores the base weight transposed (fan_in_fan_out), but PEFT still saves
    // lora_A [r, in] and lora_B [out, r]; c_attn maps 768 -> 2304.
    PeftAdapter adapter =
        PeftAdapterReader.open(
            new LocalFileIO(), SharedAdapters.folder().resolve("gpt2-cattn-cproj-r8").toString());
    LoraModule cAttn = adapter.module("base_model.model.transformer.h.0.attn.c_attn");
    assertThat(cAttn.a().shape()).containsExactly(8, 768);
    assertThat(cAttn.b().shape()).containsExactly(2304, 8);
    assertThat(Arrays.asList(cAttn.m(), cAttn.n())).containsExactly(2304, 768);
  }

  /**
   * Decoded values agree with Python's own decoding (struct '<f' / '<e', BF16 as the upper half of
   * a float32): the first value and the sequential double sum of A and of B of the first module.
   */
  @ParameterizedTest
  @CsvSource({
    "opt-125m-qv-r16-bf16, -0.0001430511474609375, 0.3739061951637268,"
        + " -0.0002574920654296875, -0.030188634162186645",
    "open-calm-1b-qkv-r1-f16, -0.005702972412109375, -0.9005852937698364,"
        + " 0.3115234375, 2.1233242750167847",
    "distilgpt2-cattn-r8-f16, 0.00336456298828125, -0.16538631916046143,"
        + " -0.0025482177734375, -0.5294641256332397",
    "tiny-gpt2-r4-lora-only-bias, -0.13687105476856232, 0.741282794624567,"
        + " 0.06765472888946533, -0.0032673596870154142"
  })
  void decodedValuesMatchPython(
      String name, double firstA, double sumA, double firstB, double sumB) {
    PeftAdapter adapter =
        PeftAdapterReader.open(new LocalFileIO(), SharedAdapters.folder().resolve(name).toString());
    LoraFactors f = PeftAdapterReader.readFactors(adapter, adapter.modules().get(0));
    assertThat((double) f.a()[0]).isEqualTo(firstA);
    assertThat(sequentialSum(f.a())).isEqualTo(sumA);
    assertThat((double) f.b()[0]).isEqualTo(firstB);
    assertThat(sequentialSum(f.b())).isEqualTo(sumB);
  }

  private static double sequentialSum(float[] values) {
    double sum = 0;
    for (float v : values) {
      sum += v;
    }
    return sum;
  }

  @Test
  void pTuningAdapterIsRefused() {
    Path dir = SharedAdapters.folder().resolve("NEGATIVE-ptuning-internlm2");
    assertThatThrownBy(() -> PeftAdapterReader.open(new LocalFileIO(), dir.toString()))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            dir
                + "/adapter_config.json: peft_type is P_TUNING, but only LORA adapters are"
                + " supported");
  }
}
