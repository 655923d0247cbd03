package org.loraquant.notebooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.safetensors.SafetensorsWriter;

/**
 * The analyst notebooks, executed headless against a stats table that the real job wrote: a
 * generated fleet with a bad and an unfinished adapter, compressed twice (the second night after
 * one adapter was replaced), then once more with one bit budget over the fleet ({@code --budget
 * 1.4 --budget-scope fleet}, issue 20), whose run the budget view of 03_night_over_night shows. A
 * notebook that raises fails the build.
 */
class NotebooksIT {
  private static final long TIMEOUT_MINUTES = 8;

  @Test
  void everyNotebookRunsOnStatsWrittenByTheJob(@TempDir Path tmp) throws Exception {
    Path root = Path.of(System.getProperty("loraquant.project.root"));
    Path python = python(root);

    Path fleet = tmp.resolve("fleet");
    Path out = tmp.resolve("compressed");
    Path stats = tmp.resolve("stats");
    assertThat(cli(tmp, "generate-fleet", fleet.toString(), "--adapters", "5", "--shape", "tiny", "--seed", "11"))
        .isZero();
    writeNonLoraAdapter(fleet.resolve("team-x/prompt-tuning"));
    writeUnfinishedUpload(fleet.resolve("team-y/uploading"));

    List<String> recompress = List.of("recompress", "--master", "local[2]", "--input", fleet.toString(),
        "--output", out.toString(), "--stats", stats.toString(), "--max-failed", "1");
    assertThat(cli(tmp, recompress.toArray(String[]::new))).isZero();

    Path replaced = firstGeneratedAdapter(fleet);
    Path donor = tmp.resolve("donor");
    assertThat(cli(tmp, "generate-fleet", donor.toString(), "--adapters", "1", "--shape", "tiny", "--seed", "99"))
        .isZero();
    Files.copy(firstGeneratedAdapter(donor).resolve("adapter_model.safetensors"),
        replaced.resolve("adapter_model.safetensors"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThat(cli(tmp, recompress.toArray(String[]::new))).isZero();
    List<String> fleetBudget = new ArrayList<>(recompress);
    fleetBudget.addAll(List.of("--budget", "1.4", "--budget-scope", "fleet"));
    assertThat(cli(tmp, fleetBudget.toArray(String[]::new))).isZero();

    ProcessBuilder notebooks = new ProcessBuilder(root.resolve("notebooks/run_notebooks.sh").toString(), stats.toString())
        .redirectErrorStream(true)
        .redirectOutput(tmp.resolve("notebooks.log").toFile());
    notebooks.environment().put("PYTHON", python.toString());
    notebooks.environment().put("NOTEBOOK_OUT", tmp.resolve("executed").toString());
    int exit = run(notebooks);
    assertThat(exit)
        .as("notebooks/run_notebooks.sh failed:%n%s", Files.readString(tmp.resolve("notebooks.log")))
        .isZero();
    assertThat(Files.readString(tmp.resolve("executed/03_night_over_night.ipynb")))
        .as("the budget runs' view of the fleet run")
        .containsPattern("scope fleet, weight energy: 1\\.\\d{4} of 1\\.4 bits per parameter, lambda \\d");
  }

  private static Path python(Path root) {
    String configured = System.getenv("LORAQUANT_PYTHON");
    Path python = configured != null ? Path.of(configured) : root.resolve(".venv/bin/python");
    boolean ci = "true".equals(System.getenv("CI"));
    if (!Files.isExecutable(python)) {
      if (ci) {
        throw new AssertionError("no Python at " + python + ": bin/test creates it with bin/python-env");
      }
      assumeTrue(false, "no Python at " + python + "; run bin/python-env (CI fails here instead)");
    }
    return python;
  }

  /** Runs the command line in a child JVM (its own SparkSession), returning its exit code. */
  private static int cli(Path tmp, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx2g", "-cp", System.getProperty("java.class.path"), "org.loraquant.cli.Main"));
    command.addAll(List.of(args));
    File log = tmp.resolve("cli-" + args[0] + "-" + System.nanoTime() + ".log").toFile();
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log);
    pb.environment().putAll(Map.of("SPARK_LOCAL_IP", "127.0.0.1"));
    int exit = run(pb);
    if (exit != 0) {
      throw new AssertionError("loraquant " + String.join(" ", args) + " exited " + exit + ":\n"
          + Files.readString(log.toPath(), StandardCharsets.UTF_8));
    }
    return exit;
  }

  private static int run(ProcessBuilder pb) throws IOException, InterruptedException {
    Process p = pb.start();
    if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", pb.command()) + " did not finish in " + TIMEOUT_MINUTES + " minutes");
    }
    return p.exitValue();
  }

  private static Path firstGeneratedAdapter(Path fleet) throws IOException {
    try (var walk = Files.walk(fleet)) {
      return walk.filter(p -> p.getFileName().toString().equals("adapter_model.safetensors"))
          .map(Path::getParent)
          .sorted()
          .findFirst()
          .orElseThrow();
    }
  }

  private static void writeNonLoraAdapter(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"P_TUNING\", \"num_virtual_tokens\": 4}");
    Files.write(dir.resolve("adapter_model.safetensors"),
        new SafetensorsWriter().addF32("prompt_embeddings", new long[] {4, 8}, new float[32]).toByteArray());
  }

  private static void writeUnfinishedUpload(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("adapter_config.json"),
        "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\"]}");
  }
}
