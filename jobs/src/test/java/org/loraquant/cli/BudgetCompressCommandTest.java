package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.loraquant.cli.CommandRun.Q;
import static org.loraquant.cli.CommandRun.V;
import static org.loraquant.cli.CommandRun.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.SyntheticAdapter;

/** {@code compress --budget} (the budget mode, format version 2) through {@link Main#run}. */
class BudgetCompressCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;
  private Path source;

  @BeforeEach
  void writeSource() throws IOException {
    source = new SyntheticAdapter(5, 8)
        .linear(Q, 128, 96, 8, DType.F32, false)
        .linear(V, 96, 160, 8, DType.F16, false)
        .writeTo(tmp.resolve("source"));
  }

  @Test
  void budgetModeWritesVersionTwoWithStatsAndDecompressesToTheOriginalRank() throws IOException {
    Path out = tmp.resolve("compressed");
    Path stats = tmp.resolve("stats.jsonl");
    CommandRun run = run("compress", source, out, "--budget", "1.2", "--budget-scope", "layer", "--levels", "uniform",
        "--refit", "1", "--group-size", "32", "--stats", stats);
    assertThat(run.err()).isEmpty();
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).singleElement().asString().contains("(budget mode, format version 2): 2 LoRA layers");

    JsonNode block = JSON.readTree(out.resolve("adapter_config.json").toFile()).get("loraquant");
    assertThat(block.get("format_version").asInt()).isEqualTo(2);
    assertThat(block.get("mode").asText()).isEqualTo("budget");
    assertThat(block.get("budget").asDouble()).isEqualTo(1.2);
    assertThat(block.get("scope").asText()).isEqualTo("layer");
    assertThat(block.get("levels").asText()).isEqualTo("uniform");
    assertThat(block.get("refit").asInt()).isEqualTo(1);
    assertThat(block.get("group_size").asInt()).isEqualTo(32);

    List<String> lines = Files.readAllLines(stats);
    JsonNode manifest = JSON.readTree(out.resolve("loraquant_manifest.json").toFile());
    assertThat(manifest.get("format_version").asInt()).isEqualTo(2);
    assertThat(lines).hasSize(2);
    for (int i = 0; i < lines.size(); i++) {
      JsonNode line = JSON.readTree(lines.get(i));
      assertThat(line.get("mode").asText()).isEqualTo("budget");
      assertThat(line.get("levels").asText()).isEqualTo("uniform");
      assertThat(line.get("budget_bits").asDouble()).isEqualTo(1.2);
      assertThat(line.get("bits_per_component")).hasSize(8);
      int kept = 0;
      for (JsonNode w : line.get("bits_per_component")) {
        kept += w.asInt() > 0 ? 1 : 0;
      }
      assertThat(line.get("components_kept").asInt()).isEqualTo(kept);
      // Scope layer: each layer within its own budget.
      assertThat(line.get("effective_bits").asLong()).isLessThanOrEqualTo((long) Math.floor(1.2 * line.get("params").asLong()));
      assertThat(line).isEqualTo(manifest.get("layers").get(i));
    }

    Path restored = tmp.resolve("restored");
    CommandRun decompress = run("decompress", out, restored);
    assertThat(decompress.err()).isEmpty();
    assertThat(decompress.exitCode()).isZero();
    PeftAdapter after = PeftAdapterReader.open(new LocalFileIO(), restored.toString());
    assertThat(after.modules()).hasSize(2);
    for (LoraModule m : after.modules()) {
      assertThat(m.a().shape()[0]).isEqualTo(8);
      assertThat(m.b().shape()[1]).isEqualTo(8);
    }

    // --trim-rank: each layer at its kept rank, and the config says so for PEFT.
    Path trimmed = tmp.resolve("trimmed");
    CommandRun trim = run("decompress", out, trimmed, "--trim-rank");
    assertThat(trim.err()).isEmpty();
    assertThat(trim.exitCode()).isZero();
    JsonNode config = JSON.readTree(trimmed.resolve("adapter_config.json").toFile());
    PeftAdapter kept = PeftAdapterReader.open(new LocalFileIO(), trimmed.toString());
    for (LoraModule m : kept.modules()) {
      String key = m.module().replaceFirst("^base_model\\.model\\.", "");
      long rank = m.a().shape()[0];
      assertThat(rank).isBetween(1L, 7L);
      assertThat(m.b().shape()[1]).isEqualTo(rank);
      assertThat(config.get("rank_pattern").get(key).asLong()).isEqualTo(rank);
    }
  }

  @Test
  void paperModeStatsLinesCarryTheSameColumns() throws IOException {
    Path stats = tmp.resolve("paper.jsonl");
    CommandRun run = run("compress", source, tmp.resolve("paper"), "--rho", "0.9", "--bits-high", "3", "--stats", stats);
    assertThat(run.exitCode()).isZero();
    List<String> lines = Files.readAllLines(stats);
    assertThat(lines).hasSize(2);
    for (String text : lines) {
      JsonNode line = JSON.readTree(text);
      int k = line.get("k").asInt();
      int h = line.get("h").asInt();
      assertThat(line.get("mode").asText()).isEqualTo("paper");
      assertThat(line.get("levels").asText()).isEqualTo("uniform");
      assertThat(line.get("budget_bits").isNull()).isTrue();
      assertThat(line.get("components_kept").asInt()).isEqualTo(k);
      List<Integer> widths = new ArrayList<>();
      line.get("bits_per_component").forEach(w -> widths.add(w.asInt()));
      List<Integer> expected = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        expected.add(i < h ? 3 : 1);
      }
      assertThat(h).isBetween(1, k - 1);
      assertThat(widths).isEqualTo(expected);
    }
    // The manifest keeps the version 1 layer objects (golden files): the new columns are --stats only.
    JsonNode manifest = JSON.readTree(tmp.resolve("paper").resolve("loraquant_manifest.json").toFile());
    assertThat(manifest.get("layers").get(0).has("mode")).isFalse();
  }

  @Test
  void budgetModeDefaultsAreAdapterScopeLloydMaxAndTwoRefitSteps() throws IOException {
    Path out = tmp.resolve("defaults");
    CommandRun run = run("compress", source, out, "--budget", "2");
    assertThat(run.err()).isEmpty();
    assertThat(run.exitCode()).isZero();
    JsonNode block = JSON.readTree(out.resolve("adapter_config.json").toFile()).get("loraquant");
    assertThat(block.get("scope").asText()).isEqualTo("adapter");
    assertThat(block.get("levels").asText()).isEqualTo("lloyd-max");
    assertThat(block.get("refit").asInt()).isEqualTo(2);
    assertThat(block.get("group_size").asInt()).isEqualTo(128);
  }

  @Test
  void budgetWithPaperFlagsIsAUsageErrorNamingTheClash() {
    Path out = tmp.resolve("clash");
    CommandRun run = run("compress", source, out, "--budget", "2", "--rho", "0.9", "--bits-high", "3");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).singleElement().asString()
        .startsWith("loraquant compress: --budget cannot be combined with --rho, --bits-high:");
    assertThat(out).doesNotExist();

    CommandRun split = run("compress", source, out, "--budget", "2", "--split", "reference");
    assertThat(split.exitCode()).isEqualTo(2);
    assertThat(split.err()).singleElement().asString()
        .startsWith("loraquant compress: --budget cannot be combined with --split:");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--budget|0|--budget expects effective bits per parameter in (0, 16], e.g. 1.4, got '0'",
      "--budget|-1|--budget expects effective bits per parameter in (0, 16], e.g. 1.4, got '-1'",
      "--budget|16.5|--budget expects effective bits per parameter in (0, 16], e.g. 1.4, got '16.5'",
      "--budget|NaN|--budget expects effective bits per parameter in (0, 16], e.g. 1.4, got 'NaN'",
      "--budget|1.4f|--budget expects effective bits per parameter in (0, 16], e.g. 1.4, got '1.4f'",
      "--budget|two|--budget expects effective bits per parameter in (0, 16], e.g. 1.4, got 'two'",
      "--levels|gaussian|--levels must be uniform or lloyd-max, got 'gaussian'",
      "--budget-scope|model|--budget-scope must be layer, adapter or fleet, got 'model'",
      "--budget-scope|fleet|--budget-scope fleet shares one budget over a fleet: it is for the recompress job; compress one adapter with --budget-scope adapter",
      "--refit|-1|--refit must be at least 0, got -1",
  })
  void badValuesAreUsageErrors(String flag, String value, String message) {
    Path out = tmp.resolve("bad");
    List<Object> args = new ArrayList<>(List.of("compress", source, out));
    if (!flag.equals("--budget")) {
      args.addAll(List.of("--budget", "2"));
    }
    args.addAll(List.of(flag, value));
    CommandRun run = run(args.toArray());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).containsExactly("loraquant compress: " + message);
    assertThat(out).doesNotExist();
  }

  @Test
  void budgetModeFlagsWithoutBudgetAreUsageErrors() {
    CommandRun run = run("compress", source, tmp.resolve("x"), "--levels", "uniform");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).containsExactly(
        "loraquant compress: --levels applies to the budget mode only; add --budget B (e.g. --budget 1.4)");
  }

  @Test
  void aBudgetTooSmallForTheAdapterIsAUsageError() {
    Path out = tmp.resolve("small");
    CommandRun run = run("compress", source, out, "--budget", "0.01");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).singleElement().asString()
        .startsWith("loraquant compress: --budget 0.01 is too small for " + source + ": adapter of 2 layers: budget of ");
    assertThat(out).doesNotExist();
  }
}
