package org.loraquant.spark;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.loraquant.fleet.AdapterSpec;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.fleet.ModelShape;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.SafetensorsWriter;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.stats.AdapterStatus;

/** Fleets and runs for the job tests. Runs get explicit start times, one day apart by default. */
final class JobFixtures {
  static final Instant DAY_ONE = Instant.parse("2026-03-01T01:30:00Z");
  static final String BIG = "big/adapter-big";
  static final List<String> ALL_MODULES =
      List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

  private JobFixtures() {}

  /** The start of the {@code n}th run of a test: {@link #DAY_ONE} plus {@code n} days. */
  static Instant day(int n) {
    return DAY_ONE.plus(Duration.ofDays(n));
  }

  /** {@code adapters} generated tiny-shape adapters of rank {@code rank} under {@code root}. */
  static void generateFleet(Path root, int adapters, int rank, long seed) throws IOException {
    new FleetGenerator(new LocalFileIO(), new FleetGenerator.Options(adapters, ModelShape.TINY, rank, seed))
        .generate(root.toString());
  }

  /**
   * A tiny-shape fleet: {@code small} generated rank-8 adapters and one adapter over 50 times
   * larger than their median (rank 256, every module, F32), the straggler the planner must split.
   */
  static void writeFleet(Path root, int small) throws IOException {
    LocalFileIO io = new LocalFileIO();
    FleetGenerator generator =
        new FleetGenerator(io, new FleetGenerator.Options(small, ModelShape.TINY, 8, 11));
    generator.generate(root.toString());
    generator.write(
        root.toString(),
        new AdapterSpec(
            BIG,
            ModelShape.TINY,
            256,
            512,
            DType.F32,
            ALL_MODULES,
            List.of(0, 1, 2, 3),
            true,
            0.7,
            99));
  }

  /** An adapter whose lora_A holds a NaN: every reader accepts the file, the job must not. */
  static void writeNanAdapter(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(
        dir.resolve("adapter_config.json"),
        "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\"]}",
        StandardCharsets.UTF_8);
    float[] a = new float[2 * 8];
    float[] b = new float[8 * 2];
    for (int i = 0; i < a.length; i++) {
      a[i] = 0.01f * (i + 1);
      b[i] = 0.02f * (i + 1);
    }
    a[5] = Float.NaN;
    String module = "base_model.model.model.layers.0.self_attn.q_proj";
    byte[] bytes =
        new SafetensorsWriter()
            .addF32(module + ".lora_A.weight", new long[] {2, 8}, a)
            .addF32(module + ".lora_B.weight", new long[] {8, 2}, b)
            .toByteArray();
    Files.write(dir.resolve("adapter_model.safetensors"), bytes);
  }

  /** An upload in progress: the config is there, the weights are not yet. */
  static void writeIncompleteAdapter(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(
        dir.resolve("adapter_config.json"),
        "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\"]}");
  }

  /**
   * The LoRA layers of input adapters (relative paths under {@code root}), read from their
   * headers: what a run compresses of them. (The plan no longer lists them all: a small adapter is
   * one entry there, its task finds its layers.)
   */
  static List<LoraModule> modules(Path root, Collection<String> adapters) {
    List<LoraModule> modules = new ArrayList<>();
    for (String adapter : adapters) {
      modules.addAll(
          PeftAdapterReader.open(new LocalFileIO(), root.resolve(adapter).toString()).modules());
    }
    return modules;
  }

  /** The adapters a run compressed, by relative path. */
  static List<String> compressed(ProcessedRun run) {
    return run.outcomes().stream()
        .filter(o -> o.status() == AdapterStatus.COMPRESSED)
        .map(AdapterOutcome::adapter)
        .toList();
  }

  static JobOptions options(Path in, Path out, Path stats, Instant start, String... flags) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--input",
                in.toUri().toString(),
                "--output",
                out.toUri().toString(),
                "--stats",
                stats.toUri().toString()));
    args.addAll(List.of(flags));
    return JobOptions.parse(args, start);
  }

  static RunSummary run(SparkSession spark, JobOptions options) throws IOException {
    return RecompressJob.run(spark, options, discard());
  }

  /** Tests print nothing: the summary goes here. */
  static PrintStream discard() {
    return new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
