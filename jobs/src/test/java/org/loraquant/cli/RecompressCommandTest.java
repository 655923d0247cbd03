package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Command-line handling of {@code recompress}; the job itself is tested in org.loraquant.spark. */
class RecompressCommandTest {
  @TempDir Path temp;

  private static String[] run(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Main.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new String[] {
      Integer.toString(code),
      out.toString(StandardCharsets.UTF_8),
      err.toString(StandardCharsets.UTF_8)
    };
  }

  @Test
  void usageErrorsExitWithTwoAndOneLine() {
    String[] missing = run(List.of("recompress", "--input", "a", "--output", "b"));
    assertThat(missing[0]).isEqualTo("2");
    assertThat(missing[2]).isEqualTo("loraquant recompress: --stats is required\n");
    String[] badRefine =
        run(
            List.of(
                "recompress",
                "--input",
                "a",
                "--output",
                "b",
                "--stats",
                "c",
                "--refine",
                "true",
                "--conf",
                "spark.hadoop.fs.s3a.secret.key=SECRET123"));
    assertThat(badRefine[0]).isEqualTo("2");
    assertThat(badRefine[2])
        .contains("--refine must be none or search")
        .doesNotContain("SECRET123");
    String[] noValue = run(List.of("recompress", "--conf"));
    assertThat(noValue[0]).isEqualTo("2");
    assertThat(noValue[2]).contains("--conf needs a value");
  }

  @Test
  void confWithoutEqualsSignIsRefusedWithoutEchoingIt() {
    String[] r =
        run(
            List.of(
                "recompress",
                "--input",
                "a",
                "--output",
                "b",
                "--stats",
                "c",
                "--conf",
                "SECRET123"));
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[2]).contains("--conf expects KEY=VALUE").doesNotContain("SECRET123");
  }

  @Test
  void propertiesFileThenConfLaterWins() throws Exception {
    Path file = temp.resolve("spark-defaults.conf");
    Files.writeString(file, "# comment\nspark.executor.memory   3g\nspark.a=1\nspark.b 2\n");
    assertThat(RecompressCommand.sparkConf(file.toString(), List.of("spark.b=3", "spark.b=4")))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("spark.executor.memory", "3g", "spark.a", "1", "spark.b", "4"));
  }
}
