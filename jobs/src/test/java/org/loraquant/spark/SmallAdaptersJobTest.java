package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.cli.Main;
import org.loraquant.format.CompressedFormat;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.peft.AdapterConfig;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.LayerWork;
import org.loraquant.safetensors.DType;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.stats.AdapterStatus;
import org.loraquant.testing.SyntheticAdapter;

/**
 * Small adapters (weights file at most {@code --whole-file-bytes}) are opened inside their layer
 * task. The job counts each adapter's requests on any Hadoop file system, so a local one shows
 * what S3 would be asked: a tiny adapter's input is its config and its whole weights file, one
 * read each, no byte read twice; the outputs, refusals and messages are those of the adapters
 * opened first ({@code --whole-file-bytes 0}, the previous path) and of {@code compress}.
 */
class SmallAdaptersJobTest extends SparkTestBase {
  @TempDir Path temp;

  @Test
  void aSmallAdapterIsReadWithOneRequestPerFileAndEachBrokenOneFailsAlone() throws Exception {
    Path in = temp.resolve("in");
    JobFixtures.generateFleet(in, 3, 8, 21);
    // Pass-through tensors (a modules_to_save head) come to assembly from the task's one read.
    new SyntheticAdapter(7, 4)
        .linear("base_model.model.layers.0.self_attn.q_proj", 12, 10, 4, DType.F32, false)
        .passThrough("base_model.model.lm_head.weight", DType.F16, 6, 12)
        .linear("base_model.model.layers.0.self_attn.v_proj", 12, 10, 4, DType.BF16, false)
        .writeTo(in.resolve("heads/with-head"));
    JobFixtures.writeNanAdapter(in.resolve("broken/nan"));
    Path badHeader =
        new SyntheticAdapter(8, 4)
            .linear("base_model.model.layers.0.self_attn.q_proj", 12, 10, 4, DType.F32, false)
            .writeTo(in.resolve("broken/header"))
            .resolve(PeftAdapterReader.WEIGHTS_FILE);
    byte[] bytes = Files.readAllBytes(badHeader);
    Arrays.fill(bytes, 0, 8, (byte) 0x7f);
    Files.write(badHeader, bytes);

    ProcessedRun whole =
        CompressionPhase.run(
            spark(),
            JobFixtures.options(
                in, temp.resolve("out"), temp.resolve("stats"), JobFixtures.DAY_ONE));
    whole.release();
    ProcessedRun openedFirst =
        CompressionPhase.run(
            spark(),
            JobFixtures.options(
                in,
                temp.resolve("out-opened"),
                temp.resolve("stats-opened"),
                JobFixtures.DAY_ONE,
                "--whole-file-bytes",
                "0"));
    openedFirst.release();

    // Every adapter is small: each is one entry of the plan, the tasks hold no layer list.
    assertThat(whole.tasks().stream().flatMap(t -> t.layers().stream()))
        .hasSize(6)
        .allMatch(LayerWork::isWholeAdapter);
    assertThat(whole.tasks()).hasSizeLessThan(6);
    Map<String, AdapterOutcome> now = byAdapter(whole);
    Map<String, AdapterOutcome> before = byAdapter(openedFirst);
    assertThat(now.keySet()).hasSize(6).isEqualTo(before.keySet());
    for (DiscoveredAdapter input : whole.inputs()) {
      String name = input.relativePath();
      AdapterOutcome o = now.get(name);
      AdapterOutcome b = before.get(name);
      assertThat(o.status()).as(name).isEqualTo(b.status());
      assertThat(o.message()).as(name).isEqualTo(b.message());
      if (o.status() != AdapterStatus.COMPRESSED) {
        continue;
      }
      long fileBytes =
          input.file(AdapterConfig.FILE_NAME).size()
              + input.file(PeftAdapterReader.WEIGHTS_FILE).size();
      StorageRequests reads = o.requests();
      assertThat(reads.gets()).as(name + ": input reads").isEqualTo(2);
      assertThat(reads.bytesRead()).as(name + ": bytes read").isEqualTo(fileBytes);
      // The change check and the output's requests are as they were.
      assertThat(List.of(reads.lists(), reads.heads(), reads.writes()))
          .as(name)
          .isEqualTo(List.of(b.requests().lists(), b.requests().heads(), b.requests().writes()));
      // Opened first, it took a header read (and assembly one for a pass-through tensor) and read
      // the header's bytes twice.
      assertThat(b.requests().gets()).as(name).isGreaterThanOrEqualTo(3);
      assertThat(b.requests().bytesRead()).as(name).isGreaterThan(fileBytes);

      Path cli = temp.resolve("cli").resolve(name);
      int code =
          Main.run(
              List.of("compress", in.resolve(name).toString(), cli.toString()),
              JobFixtures.discard(),
              JobFixtures.discard());
      assertThat(code).isZero();
      for (String file : List.of(CompressedFormat.MODEL_FILE, CompressedFormat.CONFIG_FILE)) {
        byte[] written = Files.readAllBytes(temp.resolve("out").resolve(name).resolve(file));
        assertThat(written).as(name + "/" + file).isEqualTo(Files.readAllBytes(cli.resolve(file)));
        assertThat(written)
            .as(name + "/" + file)
            .isEqualTo(Files.readAllBytes(temp.resolve("out-opened").resolve(name).resolve(file)));
      }
    }
    assertThat(now.get("broken/header").status()).isEqualTo(AdapterStatus.FAILED);
    assertThat(now.get("broken/header").message()).contains("header length");
    assertThat(now.get("broken/nan").status()).isEqualTo(AdapterStatus.FAILED);
    assertThat(now.get("broken/nan").message()).contains("NaN");
    assertThat(now.values()).filteredOn(o -> o.status() == AdapterStatus.COMPRESSED).hasSize(4);
  }

  /**
   * An adapter longer than one read is read whole too, from its start, in reads of up to
   * max-read-bytes: its header comes with the first, the rest is planned from it, so it costs its
   * config and its reads (ceil(bytes / max-read-bytes) here, where whole layers fill the reads;
   * more where they leave gaps), no header read, and no byte read twice beyond the one layer the
   * first read cuts. Outputs, statuses and messages as when opened first; a
   * pass-through tensor past the first read is read by assembly. In the budget mode (scope
   * adapter, which reads all of an adapter's layers at its first) as in the paper mode.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"paper", "budget"})
  void anAdapterLongerThanOneReadIsReadFromItsStartInReadsOfThatSize(String mode)
      throws Exception {
    Path in = temp.resolve("in");
    SyntheticAdapter plain = new SyntheticAdapter(11, 8);
    SyntheticAdapter headFirst =
        new SyntheticAdapter(12, 8).passThrough("base_model.model.embed.weight", DType.F16, 8, 40);
    SyntheticAdapter headLast = new SyntheticAdapter(13, 8);
    for (int i = 0; i < 8; i++) {
      for (SyntheticAdapter a : List.of(plain, headFirst, headLast)) {
        a.linear("base_model.model.layers." + i + ".self_attn.q_proj", 512, 256, 16, DType.F32, false);
      }
    }
    headLast.passThrough("base_model.model.lm_head.weight", DType.F16, 8, 40);
    plain.writeTo(in.resolve("plain"));
    headFirst.writeTo(in.resolve("heads/first"));
    headLast.writeTo(in.resolve("heads/last"));
    long maxRead = 128 * 1024; // at least the header's speculative read

    List<String> codec = mode.equals("budget") ? List.of("--budget", "1.4") : List.of();
    ProcessedRun whole = run(in, "out", codec, "--max-read-bytes", Long.toString(maxRead),
        "--whole-file-bytes", "10000000");
    ProcessedRun openedFirst = run(in, "out-opened", codec, "--max-read-bytes",
        Long.toString(maxRead), "--whole-file-bytes", "0");

    assertThat(whole.tasks().stream().flatMap(t -> t.layers().stream()))
        .hasSize(3)
        .allMatch(LayerWork::isWholeAdapter);
    Map<String, AdapterOutcome> now = byAdapter(whole);
    Map<String, AdapterOutcome> before = byAdapter(openedFirst);
    assertThat(now.keySet()).containsExactly("heads/first", "heads/last", "plain");
    for (DiscoveredAdapter input : whole.inputs()) {
      String name = input.relativePath();
      AdapterOutcome o = now.get(name);
      assertThat(o.status()).as(name).isEqualTo(AdapterStatus.COMPRESSED);
      assertThat(o.message()).as(name).isEqualTo(before.get(name).message());
      long weights = input.file(PeftAdapterReader.WEIGHTS_FILE).size();
      assertThat(weights).as(name + ": precondition, several reads").isGreaterThan(2 * maxRead);
      long reads = (weights + maxRead - 1) / maxRead;
      // Its config, its file's reads; the head past the first read, assembly's one more.
      long passThroughReads = name.equals("heads/last") ? 1 : 0;
      assertThat(o.requests().gets()).as(name).isEqualTo(1 + reads + passThroughReads);
      long layer = (512 * 16 + 16 * 256) * 4;
      assertThat(o.requests().bytesRead())
          .as(name)
          .isLessThanOrEqualTo(input.file(AdapterConfig.FILE_NAME).size() + weights + layer);
      assertThat(before.get(name).requests().gets()).as(name).isGreaterThan(o.requests().gets());
      for (String file : List.of(CompressedFormat.MODEL_FILE, CompressedFormat.CONFIG_FILE)) {
        assertThat(Files.readAllBytes(temp.resolve("out").resolve(name).resolve(file)))
            .as(name + "/" + file)
            .isEqualTo(Files.readAllBytes(temp.resolve("out-opened").resolve(name).resolve(file)));
      }
    }
  }

  /**
   * The budget mode's scope adapter encodes an adapter's layers together, in name order (as
   * {@code compress} does), and reads them in the order they lie in the file, as the paper mode
   * does: with twelve layers, layers.10 and layers.11 come before layers.2 by name and after
   * layers.9 in the file. The same requests and bytes as the paper mode, read whole or opened
   * first, with and without read-ahead.
   */
  @ParameterizedTest(name = "whole-file-bytes {0}, read-ahead-bytes {1}")
  @CsvSource({"10000000, 0", "0, 0", "10000000, 131072", "0, 131072"})
  void theBudgetModeReadsAnAdapterAsThePaperModeDoes(String wholeFileBytes, String aheadBytes)
      throws Exception {
    Path in = temp.resolve("in");
    SyntheticAdapter adapter = new SyntheticAdapter(14, 8);
    for (int i = 0; i < 12; i++) {
      adapter.linear("base_model.model.layers." + i + ".self_attn.q_proj", 512, 256, 16,
          DType.F32, false);
    }
    adapter.writeTo(in.resolve("twelve"));
    String maxRead = Long.toString(128 * 1024);
    AdapterOutcome paper = byAdapter(run(in, "out-paper", List.of(), "--max-read-bytes", maxRead,
        "--whole-file-bytes", wholeFileBytes, "--read-ahead-bytes", aheadBytes)).get("twelve");
    AdapterOutcome budget = byAdapter(run(in, "out-budget", List.of("--budget", "1.4"),
        "--max-read-bytes", maxRead, "--whole-file-bytes", wholeFileBytes, "--read-ahead-bytes",
        aheadBytes)).get("twelve");

    assertThat(budget.status()).isEqualTo(AdapterStatus.COMPRESSED);
    assertThat(budget.requests().gets()).isEqualTo(paper.requests().gets());
    assertThat(budget.requests().bytesRead()).isEqualTo(paper.requests().bytesRead());
    // Encoded in name order all the same: the job's output is compress's.
    Path cli = temp.resolve("cli");
    assertThat(Main.run(List.of("compress", in.resolve("twelve").toString(), cli.toString(),
        "--budget", "1.4"), JobFixtures.discard(), JobFixtures.discard())).isZero();
    for (String file : List.of(CompressedFormat.MODEL_FILE, CompressedFormat.CONFIG_FILE)) {
      assertThat(Files.readAllBytes(temp.resolve("out-budget/twelve").resolve(file)))
          .as(file)
          .isEqualTo(Files.readAllBytes(cli.resolve(file)));
    }
  }

  private ProcessedRun run(Path in, String out, List<String> codec, String... flags)
      throws Exception {
    List<String> all = new java.util.ArrayList<>(codec);
    all.addAll(List.of(flags));
    ProcessedRun run =
        CompressionPhase.run(
            spark(),
            JobFixtures.options(
                in, temp.resolve(out), temp.resolve(out + "-stats"), JobFixtures.DAY_ONE,
                all.toArray(String[]::new)));
    run.release();
    return run;
  }

  private static Map<String, AdapterOutcome> byAdapter(ProcessedRun run) {
    Map<String, AdapterOutcome> out = new TreeMap<>();
    run.outcomes().forEach(o -> out.put(o.adapter(), o));
    return out;
  }
}
