package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.format.CompressedFormat;
import org.loraquant.testing.SharedAdapters;

/** The job on the real PEFT adapters of ../shared/adapters/real, P-Tuning one included. */
class RecompressJobRealAdaptersTest extends SparkTestBase {
  private static final String PTUNING = "NEGATIVE-ptuning-internlm2";
  @TempDir Path temp;

  @Test
  void thePTuningAdapterFailsAndTheOthersAreCompressed() throws Exception {
    Path real = SharedAdapters.folder();
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);

    int strict =
        RecompressJob.runAndReport(
            spark(),
            JobFixtures.options(real, out, stats, JobFixtures.DAY_ONE),
            JobFixtures.discard(),
            errStream);
    assertThat(strict).as("one failure, --max-failed 0").isEqualTo(RecompressJob.EXIT_FAILED);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .as("a failed adapter is not a failed run")
        .isEmpty();
    List<String> adapters;
    try (var list = Files.list(real)) {
      adapters =
          list.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
    }
    assertThat(adapters).hasSize(24).contains(PTUNING);
    for (String adapter : adapters) {
      assertThat(Files.exists(out.resolve(adapter).resolve(CompressedFormat.MANIFEST_FILE)))
          .as("outputs of good adapters are kept: " + adapter)
          .isEqualTo(!adapter.equals(PTUNING));
    }

    int lenient =
        RecompressJob.runAndReport(
            spark(),
            JobFixtures.options(
                real, out, stats, JobFixtures.DAY_ONE.plusSeconds(86_400), "--max-failed", "1"),
            JobFixtures.discard(),
            errStream);
    assertThat(lenient).isEqualTo(RecompressJob.EXIT_OK);

    try (StatsCheck duck = new StatsCheck(stats)) {
      duck.assertInvariants();
      assertThat(duck.rows("SELECT status, count(*) FROM adapters GROUP BY ALL ORDER BY 1"))
          .containsExactly(
              List.of("compressed", 23L), List.of("failed", 2L), List.of("skipped", 23L));
      List<List<Object>> failed =
          duck.rows("SELECT DISTINCT message FROM adapters WHERE adapter = '" + PTUNING + "'");
      assertThat(failed).hasSize(1);
      assertThat((String) failed.get(0).get(0))
          .contains(
              PTUNING + "/adapter_config.json",
              "peft_type is P_TUNING",
              "only LORA adapters are supported");
    }
  }
}
