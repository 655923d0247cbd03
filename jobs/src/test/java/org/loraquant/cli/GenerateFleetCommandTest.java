package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateFleetCommandTest {
  @TempDir Path temp;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Main.run(
        List.of(args),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String stdout() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void writesTheFleetAndPrintsOneSummaryLine() throws Exception {
    Path fleet = temp.resolve("fleet");
    int code =
        run(
            "generate-fleet",
            fleet.toString(),
            "--adapters",
            "5",
            "--shape",
            "tiny",
            "--rank",
            "8",
            "--seed=3");

    assertThat(code).as(stderr()).isZero();
    List<Path> configs = new ArrayList<>();
    long bytes;
    try (Stream<Path> walk = Files.walk(fleet)) {
      List<Path> files = walk.filter(Files::isRegularFile).toList();
      files.stream().filter(p -> p.endsWith("adapter_config.json")).forEach(configs::add);
      bytes = files.stream().mapToLong(p -> p.toFile().length()).sum();
    }
    assertThat(configs).hasSize(5);
    assertThat(stdout().lines()).hasSize(1);
    assertThat(stdout()).startsWith("generated 5 adapters (tiny, ").contains(bytes + " bytes");
  }

  @Test
  void hadoopUriTargetsWork() {
    int code =
        run(
            "generate-fleet",
            temp.resolve("viaHadoop").toUri().toString(),
            "--adapters",
            "2",
            "--shape",
            "tiny");
    assertThat(code).as(stderr()).isZero();
    assertThat(temp.resolve("viaHadoop/tenant-01/adapter-00001/adapter_model.safetensors"))
        .exists();
  }

  @Test
  void unknownFlagIsAUsageErrorNamingIt() {
    assertThat(run("generate-fleet", temp.toString(), "--adapters", "1", "--colour", "red"))
        .isEqualTo(Main.EXIT_USAGE);
    assertThat(stderr()).contains("unknown flag --colour");
    assertThat(stdout()).isEmpty();
  }

  @Test
  void badValuesAreUsageErrorsNamingTheValue() {
    assertThat(run("generate-fleet", temp.toString())).isEqualTo(Main.EXIT_USAGE);
    assertThat(run("generate-fleet", temp.toString(), "--adapters", "many"))
        .isEqualTo(Main.EXIT_USAGE);
    assertThat(run("generate-fleet", temp.toString(), "--adapters", "0"))
        .isEqualTo(Main.EXIT_USAGE);
    assertThat(run("generate-fleet", temp.toString(), "--adapters", "1", "--shape", "gpt-5"))
        .isEqualTo(Main.EXIT_USAGE);
    assertThat(run("generate-fleet", "--adapters", "1")).isEqualTo(Main.EXIT_USAGE);
    assertThat(run("generate-fleet", temp.toString(), "--adapters")).isEqualTo(Main.EXIT_USAGE);
    assertThat(stderr())
        .contains("--adapters is required")
        .contains("--adapters expects a whole number, got 'many'")
        .contains("--adapters must be at least 1, got 0")
        .contains("Unknown model shape 'gpt-5'; known shapes: demo, llama2-7b, mistral-7b, tiny")
        .contains("expected one OUT_DIR, got none")
        .contains("--adapters needs a value");
  }

  @Test
  void nonEmptyTargetIsRefused() throws Exception {
    Files.writeString(temp.resolve("precious.txt"), "keep me");
    assertThat(run("generate-fleet", temp.toString(), "--adapters", "1", "--shape", "tiny"))
        .isEqualTo(Main.EXIT_FAILED);
    assertThat(stderr()).contains("not empty");
  }

  @Test
  void isListedInTheUsage() {
    assertThat(run("--help")).isZero();
    assertThat(stdout()).contains("generate-fleet");
  }
}
