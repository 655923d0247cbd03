package org.loraquant.report;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.loraquant.errors.LoraQuantException;

/**
 * The nightly HTML report (docs/REPORT.md): {@code notebooks/stats_report.py}, the module the
 * notebooks' plots come from, run as a child process into a private temporary file, then
 * published to the target. Publishing never loses data: an existing target is replaced only when
 * it is an earlier report (it starts with {@link #HEAD}), and only by a complete file (a rename of
 * a finished temporary sibling; on S3, one PUT).
 */
public final class NightlyReport {
  /** How every report starts; what proves that a file may be replaced by the next report. */
  public static final String HEAD = "<!DOCTYPE html>\n<!-- loraquant report -->\n";

  /** The report module and the helpers it imports, as shipped in the jar. */
  static final List<String> SCRIPTS = List.of("stats_report.py", "stats_helpers.py", "stats_plots.py");

  static final String RESOURCES = "/org/loraquant/report/python/";
  /** Set by bin/loraquant to the repository: its notebooks/ and .venv are used first. */
  static final String HOME_PROPERTY = "loraquant.home";

  private static final long TIMEOUT_MINUTES = 30;
  /** The job's exit code for a usage error or a held lock: nothing ran. */
  private static final int EXIT_USAGE = 2;
  /** Exit code of stats_report.py when a Python package is missing. */
  private static final int EXIT_MISSING_PACKAGE = 3;

  /** How stats_report.py starts its one-line error message on stderr. */
  private static final String PYTHON_PREFIX = "report: ";

  private NightlyReport() {}

  /**
   * The job's {@code --report URI} flag, taken off the command line before the job's own flags
   * are parsed (it is no codec or run setting, so it is not in the settings file).
   *
   * @param target where the report goes; null when not asked for
   * @param jobArgs the rest of the command line
   */
  public record Request(String target, List<String> jobArgs) {
    public static final String FLAG = org.loraquant.options.JobSetting.REPORT.flag();

    public static Request take(List<String> args) {
      String target = null;
      List<String> rest = new ArrayList<>();
      for (int i = 0; i < args.size(); i++) {
        String arg = args.get(i);
        String value;
        if (arg.equals(FLAG)) {
          if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
            throw new org.loraquant.options.UsageException(FLAG + " needs a value");
          }
          value = args.get(++i);
        } else if (arg.startsWith(FLAG + "=")) {
          value = arg.substring(FLAG.length() + 1);
        } else {
          rest.add(arg);
          continue;
        }
        if (target != null) {
          throw new org.loraquant.options.UsageException(FLAG + " given twice");
        }
        if (value.isBlank()) {
          throw new org.loraquant.options.UsageException(FLAG + " needs a value");
        }
        target = value;
      }
      return new Request(target, List.copyOf(rest));
    }
  }

  /**
   * Runs the job, then writes the report when one was asked for: the target is checked first (a
   * wrong one stops everything with exit code 2, before the run), and the report is written
   * after any run that went ahead (exit 0 or 1), so a night with failures has its page too. A
   * report that cannot be written is one line on {@code err} and exit code 1; outputs and stats
   * stay as the run left them.
   */
  public static int aroundRun(
      Request request, String stats, Configuration conf, PrintStream err, IntSupplier job) {
    if (request.target() == null) {
      return job.getAsInt();
    }
    try {
      checkTarget(request.target(), conf);
      statsLocation(stats);
    } catch (LoraQuantException | UncheckedIOException e) {
      err.println("recompress: " + Request.FLAG + " " + e.getMessage());
      return EXIT_USAGE;
    }
    int code = job.getAsInt();
    if (code == EXIT_USAGE) {
      return code; // nothing ran (bad folders, or another run holds the lock)
    }
    try {
      write(stats, request.target(), conf);
      return code;
    } catch (LoraQuantException | UncheckedIOException e) {
      err.println("recompress: report not written: " + e.getMessage());
      return code == 0 ? 1 : code;
    }
  }

  /**
   * Writes the report of the stats table at {@code stats} to {@code target} (a local path, or a
   * Hadoop URI).
   *
   * @throws LoraQuantException with one line when the target may not be written, no Python is
   *     found, or the report fails
   */
  public static void write(String stats, String target, Configuration conf) {
    checkTarget(target, conf);
    String statsForPython = statsLocation(stats);
    Path work = null;
    try {
      work = Files.createTempDirectory("loraquant-report");
      Path script = script(work);
      Path page = work.resolve("report.html");
      run(python(System.getenv(), System.getProperty(HOME_PROPERTY)), script, statsForPython, page, work);
      byte[] html = Files.readAllBytes(page);
      if (!startsWithHead(html)) {
        throw new LoraQuantException(script + " wrote no report to " + page);
      }
      publish(html, target, conf);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write report " + target + ": " + e.getMessage(), e);
    } finally {
      deleteQuietly(work);
    }
  }

  /**
   * Refuses a target that is a folder or a file other than an earlier report; called before a run
   * so that a wrong {@code --report} stops the job before it does anything.
   */
  public static void checkTarget(String target, Configuration conf) {
    try {
      if (isLocal(target)) {
        Path p = localPath(target);
        if (Files.isDirectory(p)) {
          throw refused(target, "is a directory");
        }
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
          if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw refused(target, "is not a regular file");
          }
          try (InputStream in = Files.newInputStream(p)) {
            if (!startsWithHead(in.readNBytes(HEAD.length()))) {
              throw refused(target, "exists and is not a loraquant report");
            }
          }
        }
        return;
      }
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(target);
      FileSystem fs = p.getFileSystem(conf);
      FileStatus status;
      try {
        status = fs.getFileStatus(p);
      } catch (java.io.FileNotFoundException e) {
        return;
      }
      if (status.isDirectory()) {
        throw refused(target, "is a directory");
      }
      try (FSDataInputStream in = fs.open(p)) {
        if (!startsWithHead(in.readNBytes(HEAD.length()))) {
          throw refused(target, "exists and is not a loraquant report");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot check report target " + target + ": " + e.getMessage(), e);
    }
  }

  private static LoraQuantException refused(String target, String why) {
    return new LoraQuantException(
        target + " " + why + "; refusing to overwrite it (choose another path, or delete it)");
  }

  static boolean startsWithHead(byte[] head) {
    return new String(head, StandardCharsets.UTF_8).startsWith(HEAD);
  }

  /** The stats root as the Python side reads it: a local path, or an s3:// / s3a:// URL. */
  static String statsLocation(String stats) {
    if (isLocal(stats)) {
      return localPath(stats).toAbsolutePath().toString();
    }
    String scheme = stats.substring(0, stats.indexOf(':')).toLowerCase(Locale.ROOT);
    if (!List.of("s3", "s3a", "s3n").contains(scheme)) {
      throw new LoraQuantException("stats at " + stats + " cannot be read by the report"
          + " (DuckDB reads local folders and S3); copy them to a local folder first");
    }
    return stats;
  }

  static boolean isLocal(String location) {
    return !location.matches("^[A-Za-z][A-Za-z0-9+.-]+:.*") || location.startsWith("file:");
  }

  static Path localPath(String location) {
    if (location.startsWith("file:")) {
      return Path.of(java.net.URI.create(location.startsWith("file://") ? location
          : "file://" + location.substring("file:".length())).getPath());
    }
    return Path.of(location);
  }

  /**
   * The interpreter: {@code $PYTHON}, {@code $LORAQUANT_PYTHON}, the repository's .venv (made by
   * bin/python-env), else {@code python3} on the PATH.
   */
  static String python(Map<String, String> env, String home) {
    for (String name : List.of("PYTHON", "LORAQUANT_PYTHON")) {
      String value = env.get(name);
      if (value != null && !value.isBlank()) {
        return value;
      }
    }
    if (home != null && Files.isExecutable(Path.of(home, ".venv", "bin", "python"))) {
      return Path.of(home, ".venv", "bin", "python").toString();
    }
    String path = env.getOrDefault("PATH", "");
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "python3"))) {
        return Path.of(dir, "python3").toString();
      }
    }
    throw new LoraQuantException("no Python found: set PYTHON to a Python 3 with duckdb,"
        + " pandas and matplotlib, or run bin/python-env (looked for $PYTHON, $LORAQUANT_PYTHON,"
        + (home == null ? "" : " " + home + "/.venv/bin/python,") + " python3 on the PATH)");
  }

  /** The report module: the repository's notebooks/ when running from it, else the jar's copy. */
  private static Path script(Path work) throws IOException {
    String home = System.getProperty(HOME_PROPERTY);
    if (home != null && Files.isRegularFile(Path.of(home, "notebooks", SCRIPTS.get(0)))) {
      return Path.of(home, "notebooks", SCRIPTS.get(0));
    }
    for (String name : SCRIPTS) {
      try (InputStream in = NightlyReport.class.getResourceAsStream(RESOURCES + name)) {
        if (in == null) {
          throw new LoraQuantException("" + RESOURCES + name + " is missing from the"
              + " classpath (build with mvn package)");
        }
        Files.copy(in, work.resolve(name));
      }
    }
    return work.resolve(SCRIPTS.get(0));
  }

  private static void run(String python, Path script, String stats, Path page, Path work)
      throws IOException {
    List<String> command = new ArrayList<>(
        Arrays.asList(python, script.toString(), "--stats", stats, "--out", page.toString()));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("MPLBACKEND", "Agg");
    pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
    pb.environment().put("MPLCONFIGDIR", work.resolve("mpl").toString());
    Path log = work.resolve("report.log");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new LoraQuantException("cannot run Python " + python + " (" + e.getMessage()
          + "): set PYTHON, or run bin/python-env");
    }
    try {
      if (!process.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new LoraQuantException(script + " did not finish in " + TIMEOUT_MINUTES
            + " minutes");
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new LoraQuantException("interrupted");
    }
    int code = process.exitValue();
    if (code != 0) {
      String last = lastLine(Files.readString(log, StandardCharsets.UTF_8));
      String why = last.isEmpty() ? python + " " + script + " exited with " + code : last;
      if (why.startsWith(PYTHON_PREFIX)) {
        why = why.substring(PYTHON_PREFIX.length()); // its own one-line message
      } else if (code != EXIT_MISSING_PACKAGE) {
        why = why + " (" + python + " " + script + " exited with " + code + ")";
      }
      throw new LoraQuantException(why);
    }
  }

  static String lastLine(String text) {
    String[] lines = text.strip().split("\n");
    return lines.length == 0 ? "" : lines[lines.length - 1].strip();
  }

  private static void publish(byte[] html, String target, Configuration conf) throws IOException {
    checkTarget(target, conf); // again: the report took a while, the target may have appeared
    if (isLocal(target)) {
      Path p = localPath(target).toAbsolutePath();
      Files.createDirectories(p.getParent());
      Path tmp = p.resolveSibling("." + p.getFileName() + "." + UUID.randomUUID() + ".tmp");
      try {
        Files.write(tmp, html);
        try {
          Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
      return;
    }
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(target);
    FileSystem fs = p.getFileSystem(conf);
    if (fs.getScheme().toLowerCase(Locale.ROOT).startsWith("s3")) {
      // An S3 object appears whole when its upload completes: no temporary object needed.
      try (OutputStream out = fs.create(p, true)) {
        out.write(html);
      }
      return;
    }
    org.apache.hadoop.fs.Path tmp =
        new org.apache.hadoop.fs.Path(p.getParent(), "." + p.getName() + "." + UUID.randomUUID() + ".tmp");
    try {
      try (OutputStream out = fs.create(tmp, false)) {
        out.write(html);
      }
      if (fs.exists(p)) {
        fs.delete(p, false); // an earlier report (checked above); the new one is complete beside it
      }
      if (!fs.rename(tmp, p)) {
        throw new IOException("rename of " + tmp + " to " + p + " failed");
      }
    } finally {
      if (fs.exists(tmp)) {
        fs.delete(tmp, false);
      }
    }
  }

  private static void deleteQuietly(Path dir) {
    if (dir == null) {
      return;
    }
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException | UncheckedIOException ignored) {
      // a temporary folder; the OS cleans up what is left
    }
  }
}
