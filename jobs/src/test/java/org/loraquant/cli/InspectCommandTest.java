package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.SharedAdapters;

class InspectCommandTest {

  /** What one run of the command line printed. */
  private record Run(int exitCode, List<String> out, List<String> err) {}

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Main.run(
            List.of(args),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, lines(out), lines(err));
  }

  private static List<String> lines(ByteArrayOutputStream bytes) {
    return bytes.toString(StandardCharsets.UTF_8).lines().toList();
  }

  private static String adapter(String name) {
    return SharedAdapters.folder().resolve(name).toString();
  }

  @Test
  void readsAHadoopUriAsItReadsAPlainPath() {
    String folder = adapter("gpt2-seqcls-r2");
    Run plain = run("inspect", folder, "--json");
    Run uri = run("inspect", Path.of(folder).toUri().toString(), "--json");
    assertThat(uri.exitCode()).isZero();
    assertThat(uri.err()).isEmpty();
    assertThat(uri.out()).isEqualTo(plain.out()).hasSize(14);
  }

  @Test
  void listsModulesThenPassThroughThenTotals() {
    Run run = run("inspect", adapter("gpt2-seqcls-r2"));
    assertThat(run.exitCode()).isZero();
    assertThat(run.err()).isEmpty();
    assertThat(run.out()).hasSize(12 + 1 + 1);
    assertThat(run.out().get(0))
        .isEqualTo(
            "lora base_model.model.transformer.h.0.attn.c_attn m=2304 n=768 rank=2 dtype=F32");
    assertThat(run.out().subList(0, 12)).allSatisfy(l -> assertThat(l).startsWith("lora "));
    assertThat(run.out().get(12))
        .isEqualTo(
            "pass_through base_model.model.score.weight shape=[4,768] dtype=F32 bytes=12288");
    assertThat(run.out().get(13))
        .isEqualTo(
            "totals modules=12 lora_params=73728 pass_through_tensors=1 pass_through_params=3072"
                + " tensor_bytes=307200 file_bytes=310312");
  }

  @Test
  void jsonLinesCarryTheTextLinesFieldsInTheSameOrder() {
    Run run = run("inspect", adapter("gpt2-seqcls-r2"), "--json");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).hasSize(14);
    assertThat(run.out().get(0))
        .isEqualTo(
            "{\"kind\":\"lora\",\"module\":\"base_model.model.transformer.h.0.attn.c_attn\","
                + "\"m\":2304,\"n\":768,\"rank\":2,\"dtype\":\"F32\"}");
    assertThat(run.out().get(12))
        .isEqualTo(
            "{\"kind\":\"pass_through\",\"tensor\":\"base_model.model.score.weight\","
                + "\"shape\":[4,768],\"dtype\":\"F32\",\"bytes\":12288}");
    assertThat(run.out().get(13))
        .isEqualTo(
            "{\"kind\":\"totals\",\"modules\":12,\"lora_params\":73728,"
                + "\"pass_through_tensors\":1,\"pass_through_params\":3072,"
                + "\"tensor_bytes\":307200,\"file_bytes\":310312}");
  }

  @Test
  void jsonIsOneObjectPerLine() throws Exception {
    Run run = run("inspect", adapter("opt-125m-qv-r16-bf16"), "--json");
    assertThat(run.exitCode()).isZero();
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> objects = new ArrayList<>();
    for (String line : run.out()) {
      objects.add(json.readTree(line));
    }
    assertThat(objects).hasSize(25);
    JsonNode first = objects.get(0);
    assertThat(first.get("kind").asText()).isEqualTo("lora");
    assertThat(first.get("module").asText())
        .isEqualTo("base_model.model.model.decoder.layers.0.self_attn.q_proj");
    assertThat(first.get("m").asInt()).isEqualTo(768);
    assertThat(first.get("n").asInt()).isEqualTo(768);
    assertThat(first.get("rank").asInt()).isEqualTo(16);
    assertThat(first.get("dtype").asText()).isEqualTo("BF16");
    JsonNode totals = objects.get(24);
    assertThat(totals.get("kind").asText()).isEqualTo("totals");
    assertThat(totals.get("modules").asInt()).isEqualTo(24);
    assertThat(totals.get("lora_params").asLong()).isEqualTo(589824);
    assertThat(totals.get("pass_through_tensors").asInt()).isZero();
    assertThat(totals.get("file_bytes").asLong()).isEqualTo(1186328);
  }

  @Test
  void pTuningAdapterIsRefusedInOneLine() {
    String dir = adapter("NEGATIVE-ptuning-internlm2");
    Run run = run("inspect", dir);
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.out()).isEmpty();
    assertThat(run.err())
        .containsExactly(
            "loraquant inspect: "
                + dir
                + "/adapter_config.json: peft_type is P_TUNING, but only LORA adapters are"
                + " supported");
  }

  @Test
  void stacktraceFlagAddsTheTrace() {
    Run run = run("inspect", adapter("NEGATIVE-ptuning-internlm2"), "--stacktrace");
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.err()).hasSizeGreaterThan(1);
    assertThat(run.err().get(1)).startsWith("org.loraquant.errors.InvalidAdapterException: ");
  }

  @Test
  void missingPathIsAUsageError(@TempDir Path tmp) {
    Run none = run("inspect");
    assertThat(none.exitCode()).isEqualTo(Main.EXIT_USAGE);
    assertThat(none.err()).containsExactly("loraquant inspect: missing PATH (an adapter folder)");
    Run unknown = run("inspect", tmp.toString(), "--yaml");
    assertThat(unknown.exitCode()).isEqualTo(Main.EXIT_USAGE);
    assertThat(unknown.err()).containsExactly("loraquant inspect: unknown option --yaml");
  }

  @Test
  void isListedInTheUsage() {
    Run help = run("--help");
    assertThat(help.out()).anySatisfy(l -> assertThat(l).startsWith("  inspect "));
  }
}
