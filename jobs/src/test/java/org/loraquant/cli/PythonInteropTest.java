package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.PythonScripts;
import org.loraquant.testing.SharedAdapters;
import org.loraquant.testing.TestPaths;

/**
 * Our output read by the Hugging Face libraries: the compressed file with {@code safetensors},
 * the decompressed adapter loaded by {@code peft} into GPT-2- and Llama-shaped base models with
 * random weights (src/test/python/interop_check.py). The Python is {@code $LORAQUANT_PYTHON}
 * ({@link PythonScripts}); without it the test is skipped, except on CI.
 */
class PythonInteropTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(240);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> ARCH = Map.of("gpt2-cattn-cproj-r8", "gpt2", "llama3.2-1b-qv-r8", "llama");

  @TempDir Path tmp;

  @Test
  void huggingFaceLibrariesReadCompressedAndDecompressedAdapters() throws Exception {
    String python = PythonScripts.pythonOrSkip();
    Path shared = SharedAdapters.folder();
    List<Map<String, String>> cases = new ArrayList<>();
    for (String name : List.of("gpt2-cattn-cproj-r8", "llama3.2-1b-qv-r8")) {
      Path compressed = tmp.resolve(name + "-compressed");
      Path decompressed = tmp.resolve(name + "-decompressed");
      runCli("compress", shared.resolve(name).toString(), compressed.toString());
      runCli("decompress", compressed.toString(), decompressed.toString());
      cases.add(Map.of("name", name, "arch", ARCH.get(name), "compressed", compressed.toString(),
          "decompressed", decompressed.toString()));
    }

    // The budget mode, decompressed at the original rank and with --trim-rank (kept ranks,
    // rank_pattern and alpha_pattern): PEFT must load both and give the same logits.
    String llama = "llama3.2-1b-qv-r8";
    Path budget = tmp.resolve(llama + "-budget");
    Path full = tmp.resolve(llama + "-budget-full");
    Path trimmed = tmp.resolve(llama + "-budget-trimmed");
    runCli("compress", shared.resolve(llama).toString(), budget.toString(), "--budget", "1.4");
    runCli("decompress", budget.toString(), full.toString(), "--dtype", "f32");
    runCli("decompress", budget.toString(), trimmed.toString(), "--dtype", "f32", "--trim-rank");
    cases.add(Map.of("name", llama + " --trim-rank", "arch", ARCH.get(llama), "decompressed", trimmed.toString(),
        "same_output_as", full.toString()));

    JsonNode report = PythonScripts.run(python, TestPaths.jobsModule().resolve("src/test/python/interop_check.py"),
        List.of(JSON.writeValueAsString(cases)), Map.of(), TIMEOUT, tmp);
    assertThat(report.get("cases")).hasSize(3);
    JsonNode trim = report.get("cases").get(2);
    assertThat(trim.path("error").asText("")).isEmpty();
    assertThat(trim.get("missing")).isEmpty();
    assertThat(trim.get("unexpected")).isEmpty();
    assertThat(trim.get("mismatched")).isEmpty();
    assertThat(trim.get("max_logit_difference").asDouble()).isLessThanOrEqualTo(1e-4);
    assertThat(trim.get("ok").asBoolean()).isTrue();
    for (JsonNode c : List.of(report.get("cases").get(0), report.get("cases").get(1))) {
      String name = c.get("name").asText();
      assertThat(c.path("error").asText("")).as(name).isEmpty();
      assertThat(c.get("compressed").get("format").asText()).isEqualTo("loraquant");
      assertThat(c.get("compressed").get("format_version").asText()).isEqualTo("1");
      assertThat(c.get("compressed").get("problems")).as(name).isEmpty();
      assertThat(c.get("missing")).as(name + " missing adapter keys").isEmpty();
      assertThat(c.get("unexpected")).as(name + " unexpected adapter keys").isEmpty();
      assertThat(c.get("mismatched")).as(name + " LoRA weights that differ from the file").isEmpty();
      assertThat(c.get("key_warnings")).as(name).isEmpty();
      assertThat(c.get("lora_weights_checked").asInt()).isEqualTo(c.get("decompressed_tensors").asInt()).isPositive();
      assertThat(c.get("logits_finite").asBoolean()).isTrue();
      assertThat(c.get("ok").asBoolean()).isTrue();
    }
    assertThat(report.get("ok").asBoolean()).isTrue();
  }

  private static void runCli(String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(List.of(args), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).as(String.join(" ", args) + ": " + err.toString(StandardCharsets.UTF_8)).isZero();
  }
}
