package org.loraquant.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.cli.Main;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.options.UsageException;
import org.loraquant.testing.PythonScripts;
import org.loraquant.testing.TestPaths;

/** The nightly report's Java side: the flag, the interpreter, the target rules, the command. */
class NightlyReportTest {
  @TempDir Path temp;

  @Test
  void reportFlagIsTakenOffTheJobsCommandLine() {
    NightlyReport.Request r =
        NightlyReport.Request.take(List.of("--input", "a", "--report", "r.html", "--force"));
    assertThat(r.target()).isEqualTo("r.html");
    assertThat(r.jobArgs()).containsExactly("--input", "a", "--force");
    assertThat(NightlyReport.Request.take(List.of("--report=s3a://b/r.html")).target())
        .isEqualTo("s3a://b/r.html");
    assertThat(NightlyReport.Request.take(List.of("--input", "a")).target()).isNull();
    assertThatThrownBy(() -> NightlyReport.Request.take(List.of("--report", "a", "--report=b")))
        .isInstanceOf(UsageException.class).hasMessageContaining("twice");
    assertThatThrownBy(() -> NightlyReport.Request.take(List.of("--report")))
        .isInstanceOf(UsageException.class).hasMessageContaining("needs a value");
  }

  @Test
  void pythonComesFromTheEnvironmentTheVenvOrThePathElseOneLine() throws Exception {
    assertThat(NightlyReport.python(Map.of("PYTHON", "/x/py", "LORAQUANT_PYTHON", "/y"), null))
        .isEqualTo("/x/py");
    Path home = temp.resolve("home");
    Path venvPython = Files.createDirectories(home.resolve(".venv/bin")).resolve("python");
    Files.writeString(venvPython, "#!/bin/sh\n");
    venvPython.toFile().setExecutable(true);
    assertThat(NightlyReport.python(Map.of("PATH", "/nowhere"), home.toString()))
        .isEqualTo(venvPython.toString());
    assertThatThrownBy(() -> NightlyReport.python(Map.of("PATH", temp.toString()), null))
        .isInstanceOf(LoraQuantException.class)
        .hasMessageStartingWith("no Python found: set PYTHON")
        .hasMessageNotContaining("\n");
  }

  @Test
  void refusesToReplaceAnythingButAReport() throws Exception {
    Configuration conf = new Configuration();
    Path notes = temp.resolve("notes.html");
    Files.writeString(notes, "<html>my notes</html>");
    assertThatThrownBy(() -> NightlyReport.checkTarget(notes.toString(), conf))
        .isInstanceOf(LoraQuantException.class)
        .hasMessageContaining("is not a loraquant report; refusing to overwrite it");
    assertThatThrownBy(() -> NightlyReport.checkTarget(temp.toString(), conf))
        .hasMessageContaining("is a directory");
    Path earlier = temp.resolve("earlier.html");
    Files.writeString(earlier, NightlyReport.HEAD + "<html></html>");
    NightlyReport.checkTarget(earlier.toString(), conf);
    NightlyReport.checkTarget("file:" + earlier, conf);
    NightlyReport.checkTarget(temp.resolve("absent.html").toString(), conf);
    assertThat(Files.readString(notes)).isEqualTo("<html>my notes</html>");
  }

  @Test
  void aRefusedTargetStopsTheJobBeforeItRuns() throws Exception {
    Path notes = temp.resolve("notes.html");
    Files.writeString(notes, "keep me");
    AtomicBoolean ran = new AtomicBoolean();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        NightlyReport.aroundRun(
            new NightlyReport.Request(notes.toString(), List.of()), temp.toString(),
            new Configuration(), new PrintStream(err, true, StandardCharsets.UTF_8),
            () -> {
              ran.set(true);
              return 0;
            });
    assertThat(code).isEqualTo(2);
    assertThat(ran).isFalse();
    assertThat(err.toString(StandardCharsets.UTF_8).strip())
        .startsWith("recompress: --report " + notes)
        .doesNotContain("\n");
    assertThat(Files.readString(notes)).isEqualTo("keep me");
  }

  @Test
  void reportCommandWritesOneSelfContainedPageAndReplacesOnlyItsOwn() throws Exception {
    String python = PythonScripts.pythonOrSkip();
    Path repo = TestPaths.jobsModule().getParent();
    Path stats = temp.resolve("stats");
    Process p =
        new ProcessBuilder(python, repo.resolve("notebooks/tests/make_fake_stats.py").toString(),
                stats.toString(), "--adapters", "6", "--nights", "2", "--tiny-outlier")
            .redirectErrorStream(true)
            .redirectOutput(temp.resolve("fake.log").toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(Files.readString(temp.resolve("fake.log"))).isZero();

    Path out = temp.resolve("site/report.html");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    List<String> command =
        List.of("report", "--stats", stats.toString(), "--out", out.toString());
    int code = Main.run(command, new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
    String html = Files.readString(out);
    assertThat(html).startsWith(NightlyReport.HEAD).contains("<img", "data:image/png;base64,")
        .contains("tiny/adapter-tiny", "Failed and incomplete adapters", "Night over night")
        .doesNotContain("<script", "http://", "https://");
    try (var files = Files.list(out.getParent())) {
      assertThat(files).as("no temporary files left").containsExactly(out);
    }
    // an earlier report is replaced; anything else is not
    code = Main.run(command, new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).isZero();
    Path notes = temp.resolve("notes.html");
    Files.writeString(notes, "keep me");
    ByteArrayOutputStream refusal = new ByteArrayOutputStream();
    code = Main.run(List.of("report", "--stats", stats.toString(), "--out", notes.toString()),
        new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(refusal, true, StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(Main.EXIT_FAILED);
    assertThat(refusal.toString(StandardCharsets.UTF_8).strip())
        .isEqualTo("loraquant report: " + notes + " exists and is not a loraquant report;"
            + " refusing to overwrite it (choose another path, or delete it)");
    assertThat(Files.readString(notes)).isEqualTo("keep me");
    // a stats folder that is not there: one line from the Python side
    ByteArrayOutputStream missing = new ByteArrayOutputStream();
    code = Main.run(List.of("report", "--stats", temp.resolve("nope").toString(), "--out",
            temp.resolve("r2.html").toString()), new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(missing, true, StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(Main.EXIT_FAILED);
    assertThat(missing.toString(StandardCharsets.UTF_8).strip())
        .startsWith("loraquant report: no stats table at " + temp.resolve("nope"))
        .doesNotContain("\n");
    assertThat(temp.resolve("r2.html")).doesNotExist();
  }
}
