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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.PythonScripts;
import org.loraquant.testing.SharedAdapters;
import org.loraquant.testing.TestPaths;

/**
 * The Python reader (python/loraquant) against the Java one on every real shared adapter, compressed
 * here by the Java CLI: its {@code decompress} writes the same bytes as the Java
 * {@code decompress} for every {@code --dtype}, its {@code inspect} prints the same text and JSON,
 * and PEFT gives the same forward pass with either decompressed adapter
 * (src/test/python/python_reader_check.py). The golden files and corrupt inputs are covered by
 * the package's own tests (python/tests, run by bin/test).
 */
class PythonReaderTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(480);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> DTYPES = List.of("same", "f32", "f16", "bf16");
  private static final Map<String, String> PEFT_ARCH =
      Map.of("gpt2-cattn-cproj-r8", "gpt2", "llama3.2-1b-qv-r8", "llama");

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
    for (String name : names) {
      Path compressed = tmp.resolve(name).resolve("compressed");
      cli("compress", SharedAdapters.folder().resolve(name).toString(), compressed.toString());
      for (String dtype : DTYPES) {
        cli("decompress", compressed.toString(), java(name, dtype).toString(), "--dtype", dtype);
        decompress.add(Map.of("compressed", compressed.toString(), "out", python(name, dtype).toString(),
            "dtype", dtype));
      }
      javaInspect.put(name + " text", cli("inspect", compressed.toString()));
      javaInspect.put(name + " json", cli("inspect", compressed.toString(), "--json"));
      inspect.add(Map.of("compressed", compressed.toString(), "text", tmp.resolve(name + ".txt").toString(),
          "json", tmp.resolve(name + ".json").toString()));
      if (PEFT_ARCH.containsKey(name)) {
        peft.add(Map.of("name", name, "arch", PEFT_ARCH.get(name), "java", java(name, "same").toString(),
            "python", python(name, "same").toString()));
      }
    }

    Map<String, Object> spec = Map.of("decompress", decompress, "inspect", inspect, "peft", peft);
    JsonNode report = PythonScripts.run(python, TestPaths.jobsModule().resolve("src/test/python/python_reader_check.py"),
        List.of(JSON.writeValueAsString(spec)), Map.of("PYTHONPATH", PythonScripts.packageFolder().toString()),
        TIMEOUT, tmp);

    assertThat(report.get("decompressed").asInt()).isEqualTo(names.size() * DTYPES.size());
    for (String name : names) {
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
    assertThat(report.get("peft")).hasSize(PEFT_ARCH.size());
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
