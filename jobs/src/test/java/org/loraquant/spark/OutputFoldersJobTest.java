package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.format.CompressedFormat;
import org.loraquant.plan.OutputLayout;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.SyntheticAdapter;

/**
 * An adapter's output folder only ever replaces that adapter's previous output: a root adapter
 * writes to a folder of its own, nested adapters keep each other's outputs, and an output inside
 * an input adapter is refused.
 */
class OutputFoldersJobTest extends SparkTestBase {
  private static final String MODULE = "base_model.model.model.layers.0.self_attn.q_proj";

  @TempDir Path temp;

  private static Path adapter(Path dir, long seed) throws IOException {
    return new SyntheticAdapter(seed, 4).linear(MODULE, 16, 12, 4, DType.F32, false).writeTo(dir);
  }

  @Test
  void anAdapterAtTheInputRootWritesToItsOwnFolderAndKeepsEverythingElse() throws Exception {
    Path in = adapter(temp.resolve("in"), 1);
    Path out = Files.createDirectories(temp.resolve("out"));
    Files.writeString(out.resolve("keep.txt"), "not the job's");
    Path stats = out.resolve("stats");

    RunSummary first = JobFixtures.run(spark(), JobFixtures.options(in, out, stats, JobFixtures.DAY_ONE));
    RunSummary second = JobFixtures.run(spark(),
        JobFixtures.options(in, out, stats, JobFixtures.DAY_ONE.plusSeconds(86_400), "--force"));

    assertThat(first.compressed()).isEqualTo(1);
    assertThat(second.compressed()).isEqualTo(1);
    assertThat(out.resolve("keep.txt")).hasContent("not the job's");
    assertThat(out.resolve(OutputLayout.ROOT_ADAPTER_FOLDER).resolve(CompressedFormat.MANIFEST_FILE))
        .isRegularFile();
    assertThat(out.resolve(CompressedFormat.MANIFEST_FILE)).doesNotExist();
    try (StatsCheck duck = new StatsCheck(stats)) {
      assertThat(duck.count("SELECT count(*) FROM adapters WHERE adapter = ''")).isEqualTo(2);
    }
    RunSummary third = JobFixtures.run(spark(),
        JobFixtures.options(in, out, stats, JobFixtures.DAY_ONE.plusSeconds(2 * 86_400)));
    assertThat(third.skipped()).as("the root adapter's output is found again").isEqualTo(1);
  }

  @Test
  void nestedAdaptersKeepEachOthersOutputs() throws IOException {
    Path in = temp.resolve("in");
    adapter(in.resolve("a"), 2);
    adapter(in.resolve("a/b"), 3);
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    assertThat(JobFixtures.run(spark(), JobFixtures.options(in, out, stats, JobFixtures.DAY_ONE))
        .compressed()).isEqualTo(2);
    Map<Path, byte[]> inner = snapshot(out.resolve("a/b"));

    // A new upload of the outer adapter alone: only its output is rewritten.
    Path config = in.resolve("a/adapter_config.json");
    Files.setLastModifiedTime(config,
        FileTime.from(Files.getLastModifiedTime(config).toInstant().plusSeconds(3600)));
    RunSummary second = JobFixtures.run(spark(),
        JobFixtures.options(in, out, stats, JobFixtures.DAY_ONE.plusSeconds(86_400)));

    assertThat(second.compressed()).isEqualTo(1);
    assertThat(second.skipped()).isEqualTo(1);
    assertThat(snapshot(out.resolve("a/b"))).containsOnlyKeys(inner.keySet());
    inner.forEach((file, bytes) -> assertThat(Files.isDirectory(file) ? new byte[0] : readAll(file))
        .as("%s", file).isEqualTo(bytes));
    assertThat(out.resolve("a").resolve(CompressedFormat.MANIFEST_FILE)).isRegularFile();
  }

  @Test
  void anOutputInsideAnInputAdapterIsRefusedWithExitCodeTwo() throws IOException {
    Path in = temp.resolve("in");
    Path a = adapter(in.resolve("a"), 4);
    Map<Path, byte[]> before = snapshot(in);
    for (Path[] outAndStats : new Path[][] {
        {a.resolve("compressed"), temp.resolve("stats")},
        {temp.resolve("out"), a},
        {in.resolve("out"), in.resolve("a/stats")}}) {
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code = RecompressJob.runAndReport(spark(),
          JobFixtures.options(in, outAndStats[0], outAndStats[1], JobFixtures.DAY_ONE),
          JobFixtures.discard(), new PrintStream(err, true, StandardCharsets.UTF_8));
      assertThat(code).isEqualTo(RecompressJob.EXIT_USAGE);
      assertThat(err.toString(StandardCharsets.UTF_8).lines())
          .singleElement().asString()
          .contains("is inside the folder of the input adapter", "/in/a");
      assertThat(snapshot(in)).containsOnlyKeys(before.keySet());
      assertThat(temp.resolve("out")).doesNotExist();
      assertThat(temp.resolve("stats")).doesNotExist();
    }
    // The input being an adapter itself, anything inside it is inside an adapter.
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = RecompressJob.runAndReport(spark(),
        JobFixtures.options(a, a.resolve("out"), temp.resolve("stats"), JobFixtures.DAY_ONE),
        JobFixtures.discard(), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(RecompressJob.EXIT_USAGE);
    assertThat(snapshot(in)).containsOnlyKeys(before.keySet());
  }

  private static byte[] readAll(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static Map<Path, byte[]> snapshot(Path dir) throws IOException {
    Map<Path, byte[]> files = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.toList()) {
        files.put(p, Files.isRegularFile(p) ? Files.readAllBytes(p) : new byte[0]);
      }
    }
    return files;
  }
}
