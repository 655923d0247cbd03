package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.cli.Main;
import org.loraquant.testing.PythonScripts;

/**
 * The nightly report's night-over-night section on real job output (issue 22): two runs of the
 * job on consecutive days land in two run_date partitions (the run date is the start's UTC date,
 * JobOptions.parse), and the drift table shows both nights with what each run did.
 */
class ReportDriftTest extends SparkTestBase {
  private static final int SMALL = 2;
  @TempDir Path temp;

  @Test
  void driftShowsBothNightsOfTheJob() throws Exception {
    PythonScripts.pythonOrSkip();
    Path in = temp.resolve("in");
    JobFixtures.writeFleet(in, SMALL);
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    int adapters = SMALL + 1; // the small ones and the big one
    RunSummary first =
        JobFixtures.run(spark(), JobFixtures.options(in, out, stats, JobFixtures.DAY_ONE));
    assertThat(first.compressed()).isEqualTo(adapters);
    RunSummary second =
        JobFixtures.run(
            spark(),
            JobFixtures.options(in, out, stats, JobFixtures.DAY_ONE.plus(Duration.ofDays(1))));
    assertThat(second.skipped()).isEqualTo(adapters);

    Path report = temp.resolve("report.html");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Main.run(
            List.of("report", "--stats", stats.toUri().toString(), "--out", report.toString()),
            new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();

    String html = Files.readString(report);
    int drift = html.indexOf("id=\"drift\"");
    assertThat(drift).as("the drift section").isPositive();
    String section = html.substring(drift);
    assertThat(section).contains("<img");
    // run_date, compressed, skipped, incomplete, failed, then the night's error and bits
    assertThat(rows(section))
        .extracting(r -> r.subList(0, 5))
        .containsExactly(
            List.of("2026-03-01", String.valueOf(adapters), "0", "0", "0"),
            List.of("2026-03-02", "0", String.valueOf(adapters), "0", "0"));
  }

  /** The cells of the first table's body rows. */
  private static List<List<String>> rows(String html) {
    String body = html.substring(html.indexOf("<tbody>"), html.indexOf("</tbody>"));
    List<List<String>> rows = new ArrayList<>();
    Matcher row = Pattern.compile("<tr>(.*?)</tr>").matcher(body);
    while (row.find()) {
      List<String> cells = new ArrayList<>();
      Matcher cell = Pattern.compile("<td[^>]*>(.*?)</td>").matcher(row.group(1));
      while (cell.find()) {
        cells.add(cell.group(1));
      }
      rows.add(cells);
    }
    return rows;
  }
}
