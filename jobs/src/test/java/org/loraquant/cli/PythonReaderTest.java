package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.PythonScripts;
import org.loraquant.testing.SharedAdapters;
import org.loraquant.testing.TestPaths;

/**
 * The Python reader (python/loraquant) against the Java one on every real shared adapter, compressed
 * here by the Java CLI in the paper mode (format version 1) and in the budget mode (version 2,
 * the two level families taking turns): its {@code decompress} writes the same bytes as the Java
 * {@code decompress} for every {@code --dtype}, its {@code inspect} prints the same text and JSON,
 * and PEFT gives the same forward pass with either decompressed adapter
 * (src/test/python/python_reader_check.py). The golden files and corrupt inputs are covered by
 * the package's own tests (python/tests, run by bin/test).
 */
class PythonReaderTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(900); // twice the cases since the budget mode
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> DTYPES = List.of("same", "f32", "f16", "bf16");
  private static final Map<String, String> PEFT_ARCH =
      Map.of("gpt2-cattn-cproj-r8", "gpt2", "llama3.2-1b-qv-r8", "llama");
  /** The budget mode's target, in effective bits per parameter, for the adapters that have one. */
  private static final String BUDGET = "1.5";
  /**
   * Adapters whose side information does not fit {@link #BUDGET}: a larger budget, or none when even
   * the largest (16 bits) cannot store the adapter (tiny-gpt2's 176 parameters need 3688 bits).
   */
  private static final Map<String, String> BUDGET_EXCEPTIONS =
      Map.of("open-calm-1b-qkv-r1-f16", "3", "tiny-gpt2-r4-lora-only-bias", "");
  private static final String BUDGET_CASE = "-budget";

  @TempDir Path tmp;

  @Test
  void pythonDecompressAndInspectMatchTheJavaCommandsOnTheRealAdapters() throws Exception {
    String python = PythonScripts.pythonOrSkip();
    List<String> names = realLoraAdapters();
    assertThat(names).hasSizeGreaterThanOrEqualTo(20).containsAll(PEFT_ARCH.keySet());
    List<Map<String, String>> decompress = new ArrayList<>();
    List<Map<String, String>> inspect = new ArrayList<>();
    List<Map<String, String>> peft = new ArrayList<>();
    Map<String, List<String>> javaInspect = new LinkedHashMap<>();
    // Each case: a folder name and the compress flags after SOURCE OUT.
    Map<String, List<String>> cases = new LinkedHashMap<>();
    for (String name : names) {
      cases.put(name, List.of());
      String budget = BUDGET_EXCEPTIONS.getOrDefault(name, BUDGET);
      if (!budget.isEmpty()) {
        String levels = cases.size() % 2 == 0 ? "lloyd-max" : "uniform"; // both families, in turn
        cases.put(name + BUDGET_CASE, List.of("--budget", budget, "--levels", levels));
      }
    }
    for (Map.Entry<String, List<String>> c : cases.entrySet()) {
      String name = c.getKey();
      String source = name.replace(BUDGET_CASE, "");
      Path compressed = tmp.resolve(name).resolve("compressed");
      List<String> compress = new ArrayList<>(List.of("compress", SharedAdapters.folder().resolve(source).toString(),
          compressed.toString()));
      compress.addAll(c.getValue());
      cli(compress.toArray(String[]::new));
      for (String dtype : DTYPES) {
        cli("decompress", compressed.toString(), java(name, dtype).toString(), "--dtype", dtype);
        decompress.add(Map.of("compressed", compressed.toString(), "out", python(name, dtype).toString(),
            "dtype", dtype));
      }
      javaInspect.put(name + " text", cli("inspect", compressed.toString()));
      javaInspect.put(name + " json", cli("inspect", compressed.toString(), "--json"));
      inspect.add(Map.of("compressed", compressed.toString(), "text", tmp.resolve(name + ".txt").toString(),
          "json", tmp.resolve(name + ".json").toString()));
      if (PEFT_ARCH.containsKey(source)) {
        peft.add(Map.of("name", name, "arch", PEFT_ARCH.get(source), "java", java(name, "same").toString(),
            "python", python(name, "same").toString()));
      }
    }

    Map<String, Object> spec = Map.of("decompress", decompress, "inspect", inspect, "peft", peft);
    JsonNode report = PythonScripts.run(python, TestPaths.jobsModule().resolve("src/test/python/python_reader_check.py"),
        List.of(JSON.writeValueAsString(spec)), Map.of("PYTHONPATH", PythonScripts.packageFolder().toString()),
        TIMEOUT, tmp);

    assertThat(cases).hasSize(2 * names.size() - 1);
    assertThat(report.get("decompressed").asInt()).isEqualTo(cases.size() * DTYPES.size());
    Set<String> families = new TreeSet<>();
    for (String name : cases.keySet()) {
      List<String> text = javaInspect.get(name + " text");
      assertThat(text.get(0)).as(name).isEqualTo("compressed format=loraquant format_version="
          + (name.endsWith(BUDGET_CASE) ? 2 : 1));
      if (name.endsWith(BUDGET_CASE)) {
        families.add(text.get(1).replaceAll(".* levels=(\\S+) .*", "$1"));
      }
      for (String dtype : DTYPES) {
        for (String file : List.of("adapter_model.safetensors", "adapter_config.json")) {
          assertThat(Files.mismatch(java(name, dtype).resolve(file), python(name, dtype).resolve(file)))
              .as(name + " --dtype " + dtype + " " + file + ": first differing byte").isEqualTo(-1L);
        }
      }
      assertThat(Files.readAllLines(tmp.resolve(name + ".txt"))).as(name + " inspect")
          .isEqualTo(javaInspect.get(name + " text"));
      assertThat(Files.readAllLines(tmp.resolve(name + ".json"))).as(name + " inspect --json")
          .isEqualTo(javaInspect.get(name + " json"));
    }
    assertThat(families).containsExactly("lloyd-max", "uniform");
    assertThat(report.get("peft")).hasSize(2 * PEFT_ARCH.size());
    for (JsonNode p : report.get("peft")) {
      assertThat(p.get("lora_weights").asInt()).as(p.get("name").asText()).isPositive();
      assertThat(p.get("same_lora_weights").asBoolean()).as(p.get("name").asText()).isTrue();
      assertThat(p.get("logits_equal").asBoolean()).as(p.get("name").asText()).isTrue();
      assertThat(p.get("logits_finite").asBoolean()).as(p.get("name").asText()).isTrue();
    }
    assertThat(report.get("ok").asBoolean()).isTrue();
  }

  private Path java(String name, String dtype) {
    return tmp.resolve(name).resolve("java-" + dtype);
  }

  private Path python(String name, String dtype) {
    return tmp.resolve(name).resolve("python-" + dtype);
  }

  /** The shared real LoRA adapters (the NEGATIVE- ones are not LoRA). */
  private static List<String> realLoraAdapters() throws Exception {
    try (Stream<Path> folders = Files.list(SharedAdapters.folder())) {
      return folders
          .filter(p -> Files.isRegularFile(p.resolve("adapter_config.json")))
          .map(p -> p.getFileName().toString())
          .filter(n -> !n.startsWith("NEGATIVE-"))
          .sorted()
          .toList();
    }
  }

  /** Runs the Java command line; fails unless it succeeds; returns its stdout lines. */
  private static List<String> cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).as(String.join(" ", args) + ": " + err.toString(StandardCharsets.UTF_8)).isZero();
    return out.toString(StandardCharsets.UTF_8).lines().toList();
  }
}
