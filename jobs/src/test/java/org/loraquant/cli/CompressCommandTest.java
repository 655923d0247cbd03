package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.loraquant.cli.CommandRun.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.SharedAdapters;
import org.loraquant.testing.SyntheticAdapter;

/** {@code compress} and {@code decompress} through {@link Main#run}, as bin/loraquant runs them. */
class CompressCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> STATS_FIELDS = List.of("module", "m", "n", "rank", "k", "h", "bits_high", "rho",
      "group_size", "split_rule", "payload_bits", "effective_bits", "params", "rel_error", "singular_values");

  @TempDir Path tmp;
  private Path source;

  @BeforeEach
  void writeSource() throws IOException {
    source = CommandRun.smallAdapter(5)
        .linear(CommandRun.V, 16, 24, 8, DType.F16, false)
        .passThrough("base_model.model.score.weight", DType.F32, 2, 24)
        .writeTo(tmp.resolve("source"));
  }

  @Test
  void anAdapterWithoutLoraLayersPassesThroughAndComesBackUnchanged() throws IOException {
    // A head-only adapter (modules_to_save, no LoRA pair): nothing to quantize, nothing to lose.
    Path headOnly = new SyntheticAdapter(6, 8)
        .passThrough("base_model.model.score.weight", DType.F32, 3, 24)
        .passThrough("base_model.model.score.bias", DType.F16, 3)
        .writeTo(tmp.resolve("head-only"));
    Path compressed = tmp.resolve("head-only-compressed");
    Path restored = tmp.resolve("head-only-restored");

    CommandRun compress = run("compress", headOnly, compressed);
    assertThat(compress.err()).isEmpty();
    assertThat(compress.exitCode()).isZero();
    assertThat(compress.out()).singleElement().asString()
        .contains(": 0 LoRA layers, 0 params, 0.000 payload / 0.000 effective bits per param");
    assertThat(JSON.readTree(compressed.resolve("loraquant_manifest.json").toFile()).get("layers"))
        .isEmpty();

    CommandRun decompress = run("decompress", compressed, restored);
    assertThat(decompress.err()).isEmpty();
    assertThat(decompress.exitCode()).isZero();
    PeftAdapter before = PeftAdapterReader.open(new LocalFileIO(), headOnly.toString());
    PeftAdapter after = PeftAdapterReader.open(new LocalFileIO(), restored.toString());
    assertThat(after.modules()).isEmpty();
    assertThat(after.passThrough()).hasSameSizeAs(before.passThrough()).hasSize(2);
    for (int i = 0; i < before.passThrough().size(); i++) {
      var was = before.passThrough().get(i);
      var now = after.passThrough().get(i);
      assertThat(now.name()).isEqualTo(was.name());
      assertThat(now.dtype()).isEqualTo(was.dtype());
      assertThat(PeftAdapterReader.readTensorBytes(after, now))
          .isEqualTo(PeftAdapterReader.readTensorBytes(before, was));
    }
  }

  @Test
  void compressWithEveryFlagWritesStatsThatAgreeWithTheManifest() throws IOException {
    Path out = tmp.resolve("compressed");
    Path stats = tmp.resolve("reports/stats.jsonl");
    CommandRun run = run("compress", source, out, "--rho", "0.9", "--bits-high", "3", "--group-size", "16",
        "--split", "reference", "--refine", "search", "--stats", stats);
    assertThat(run.err()).isEmpty();
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).singleElement().asString().startsWith("compressed " + source + " -> " + out + ": 2 LoRA layers");

    JsonNode config = JSON.readTree(out.resolve("adapter_config.json").toFile()).get("loraquant");
    assertThat(config.get("rho").asDouble()).isEqualTo(0.9);
    assertThat(config.get("bits_high").asInt()).isEqualTo(3);
    assertThat(config.get("group_size").asInt()).isEqualTo(16);
    assertThat(config.get("split_rule").asText()).isEqualTo("reference");
    assertThat(config.get("refinement").asText()).isEqualTo("search");

    List<String> lines = Files.readAllLines(stats);
    JsonNode manifestLayers = JSON.readTree(out.resolve("loraquant_manifest.json").toFile()).get("layers");
    assertThat(lines).hasSize(2).hasSize(manifestLayers.size());
    for (int i = 0; i < lines.size(); i++) {
      JsonNode line = JSON.readTree(lines.get(i));
      JsonNode manifest = manifestLayers.get(i);
      for (String field : STATS_FIELDS) {
        assertThat(line.has(field)).as(field).isTrue();
        assertThat(line.get(field)).as(field).isEqualTo(manifest.get(field));
      }
      assertThat(line.get("bits_high").asInt()).isEqualTo(3);
      assertThat(line.get("rho").asDouble()).isEqualTo(0.9);
      assertThat(line.get("group_size").asInt()).isEqualTo(16);
      assertThat(line.get("split_rule").asText()).isEqualTo("reference");
      assertThat(line.get("rank").asInt()).isEqualTo(8);
      assertThat(line.get("singular_values").size()).isEqualTo(line.get("k").asInt());
      assertThat(line.get("params").asLong()).isEqualTo(8L * (line.get("m").asInt() + line.get("n").asInt()));
      assertThat(line.get("effective_bits").asLong()).isGreaterThan(line.get("payload_bits").asLong());
    }
    assertThat(JSON.readTree(lines.get(0)).get("module").asText()).isEqualTo("base_model.model.model.layers.0.self_attn.q_proj");
  }

  @Test
  void defaultsAreRho08TwoBitsGroup128Prefix() throws IOException {
    Path out = tmp.resolve("compressed");
    assertThat(run("compress", source, out).exitCode()).isZero();
    JsonNode config = JSON.readTree(out.resolve("adapter_config.json").toFile()).get("loraquant");
    assertThat(config.get("rho").asDouble()).isEqualTo(0.8);
    assertThat(config.get("bits_high").asInt()).isEqualTo(2);
    assertThat(config.get("group_size").asInt()).isEqualTo(128);
    assertThat(config.get("split_rule").asText()).isEqualTo("prefix");
    assertThat(config.get("refinement").asText()).isEqualTo("none");
  }

  @ParameterizedTest
  @ValueSource(strings = {"same", "f32", "f16", "bf16"})
  void decompressWritesTheRequestedDtype(String dtype) {
    Path compressed = tmp.resolve("compressed");
    Path out = tmp.resolve("decompressed-" + dtype);
    assertThat(run("compress", source, compressed).exitCode()).isZero();
    CommandRun run = run("decompress", compressed, out, "--dtype", dtype);
    assertThat(run.err()).isEmpty();
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).containsExactly("decompressed " + compressed + " -> " + out + ": 2 LoRA layers, 1 pass-through tensors");
    PeftAdapter in = PeftAdapterReader.open(new LocalFileIO(), source.toString());
    PeftAdapter back = PeftAdapterReader.open(new LocalFileIO(), out.toString());
    assertThat(back.modules()).hasSameSizeAs(in.modules());
    for (LoraModule m : in.modules()) {
      LoraModule d = back.module(m.module());
      DType expected = dtype.equals("same") ? m.a().dtype() : DType.valueOf(dtype.toUpperCase(java.util.Locale.ROOT));
      assertThat(d.a().dtype()).isEqualTo(expected);
      assertThat(d.b().dtype()).isEqualTo(expected);
      assertThat(d.a().shape()).containsExactly(m.a().shape());
      assertThat(d.b().shape()).containsExactly(m.b().shape());
    }
  }

  @Test
  void badFlagsExitTwoWithOneLine() {
    Path out = tmp.resolve("never-written");
    List<List<Object>> lines = List.of(
        List.of("compress", source, out, "--rho", "1.5"),
        List.of("compress", source, out, "--rho", "high"),
        List.of("compress", source, out, "--bits-high", "9"),
        List.of("compress", source, out, "--group-size", "0"),
        List.of("compress", source, out, "--split", "middle"),
        List.of("compress", source, out, "--refine", "maybe"),
        List.of("compress", source, out, "--stats"),
        List.of("compress", source, out, "--fast"),
        List.of("compress", source),
        List.of("decompress", source, out, "--dtype", "f64"));
    List<String> expected = List.of(
        "loraquant compress: Invalid rho: 1.5; must be in (0, 1], e.g. 0.8",
        "loraquant compress: --rho expects a number in (0, 1], got 'high'",
        "loraquant compress: Invalid bits_high: 9; must be 1..8 (2 or 3 in the paper)",
        "loraquant compress: Invalid group size: 0; must be >= 1, e.g. 128",
        "loraquant compress: --split must be prefix or reference, got 'middle'",
        "loraquant compress: --refine must be none or search, got 'maybe'",
        "loraquant compress: --stats needs a value",
        "loraquant compress: unknown flag --fast",
        "loraquant compress: expected IN_DIR OUT_DIR, got " + source,
        "loraquant decompress: --dtype: unknown dtype 'f64'; choose same, f32, f16 or bf16");
    for (int i = 0; i < lines.size(); i++) {
      CommandRun run = run(lines.get(i).toArray());
      assertThat(run.exitCode()).as(lines.get(i).toString()).isEqualTo(Main.EXIT_USAGE);
      assertThat(run.err()).as(lines.get(i).toString()).containsExactly(expected.get(i));
      assertThat(run.out()).isEmpty();
    }
    assertThat(out).doesNotExist();
  }

  @Test
  void pTuningAdapterIsRefusedWithOneLine() {
    Path ptuning = SharedAdapters.folder().resolve("NEGATIVE-ptuning-internlm2");
    Path out = tmp.resolve("never-written");
    CommandRun run = run("compress", ptuning, out);
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.err()).containsExactly("loraquant compress: " + ptuning
        + "/adapter_config.json: peft_type is P_TUNING, but only LORA adapters are supported");
    assertThat(out).doesNotExist();
  }

  @Test
  void decompressingAPlainPeftFolderExitsOneWithAClearMessage() {
    Path out = tmp.resolve("never-written");
    CommandRun run = run("decompress", source, out);
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.err()).containsExactly("loraquant decompress: " + source + ": not a loraquant compressed adapter:"
        + " it has no loraquant_manifest.json and no loraquant_model.safetensors (a plain PEFT adapter? compress it first)");
    assertThat(out).doesNotExist();
  }

  @Test
  void decompressingAnInterruptedOutputExitsOne() throws IOException {
    Path compressed = tmp.resolve("compressed");
    assertThat(run("compress", source, compressed).exitCode()).isZero();
    Files.delete(compressed.resolve("loraquant_manifest.json"));
    CommandRun run = run("decompress", compressed, tmp.resolve("never-written"));
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.err()).containsExactly("loraquant decompress: " + compressed + "/loraquant_manifest.json: missing: "
        + compressed + " is not a complete compressed adapter (written by an interrupted run?); compress again");
  }
}
