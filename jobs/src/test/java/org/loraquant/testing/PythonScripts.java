package org.loraquant.testing;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs the Python scripts of the interop tests (PythonReaderTest, PythonInteropTest,
 * SafetensorsReferenceVerdictTest): the interpreter is {@code $LORAQUANT_PYTHON}
 * (bin/test sets it to .venv/bin/python, made by bin/python-env); without it a test is skipped,
 * except on CI, where it fails. A script prints one JSON report as its last stdout line.
 */
public final class PythonScripts {
  private static final ObjectMapper JSON = new ObjectMapper();

  private PythonScripts() {}

  /** The interpreter, or the test is skipped (failed on CI) with the reason. */
  public static String pythonOrSkip() {
    String python = System.getenv("LORAQUANT_PYTHON");
    boolean usable = python != null && !python.isBlank() && Files.isExecutable(Path.of(python));
    if (!usable) {
      String reason = "LORAQUANT_PYTHON is " + (python == null || python.isBlank() ? "not set" : "'" + python
          + "', which is not an executable") + " (bin/test sets it to .venv/bin/python, made by bin/python-env)";
      if ("true".equals(System.getenv("CI"))) {
        fail(reason + "; CI=true, so this is a failure");
      }
      Assumptions.abort(reason);
    }
    return python;
  }

  /** The repository's python/ folder (the loraquant package), for PYTHONPATH. */
  public static Path packageFolder() {
    return TestPaths.jobsModule().getParent().resolve("python");
  }

  /**
   * Runs {@code script} with {@code args} and a hard timeout (a hung interpreter is killed and the
   * test fails), offline for the Hugging Face libraries; {@code env} adds variables. Returns the
   * JSON object of the last stdout line; fails on a non-zero exit or no report.
   */
  public static JsonNode run(String python, Path script, List<String> args, Map<String, String> env,
      Duration timeout, Path workDir) throws IOException, InterruptedException {
    Path stdout = workDir.resolve(script.getFileName() + ".out");
    Path stderr = workDir.resolve(script.getFileName() + ".err");
    List<String> command = new ArrayList<>(List.of(python, script.toString()));
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectOutput(stdout.toFile())
        .redirectError(stderr.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Map<String, String> environment = builder.environment();
    environment.put("HF_HUB_OFFLINE", "1");
    environment.put("TRANSFORMERS_OFFLINE", "1");
    environment.put("HF_DATASETS_OFFLINE", "1");
    environment.put("TOKENIZERS_PARALLELISM", "false");
    environment.put("OMP_NUM_THREADS", "2");
    environment.put("PYTHONDONTWRITEBYTECODE", "1");
    environment.putAll(env);
    Process process = builder.start();
    if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      fail(script + " did not finish within " + timeout + "; stderr:\n" + tail(stderr));
    }
    String out = Files.readString(stdout, StandardCharsets.UTF_8).strip();
    String context = "exit code " + process.exitValue() + "; stdout:\n" + out + "\nstderr:\n" + tail(stderr);
    JsonNode report;
    try {
      report = JSON.readTree(out.isEmpty() ? "null" : out.lines().reduce((a, b) -> b).orElse(""));
    } catch (IOException e) {
      throw new AssertionError(script.getFileName() + " printed no JSON report; " + context, e);
    }
    if (report == null || !report.isObject() || process.exitValue() != 0) {
      fail(script.getFileName() + " failed; " + context);
    }
    return report;
  }

  private static String tail(Path file) throws IOException {
    String text = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    return text.length() <= 6000 ? text : "..." + text.substring(text.length() - 6000);
  }
}
