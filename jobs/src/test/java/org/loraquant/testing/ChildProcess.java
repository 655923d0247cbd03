package org.loraquant.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A child process started by a test harness, with its stdout and stderr in one log file.
 *
 * <p>Stopping kills the whole process tree (a Spark worker's executors and drivers are its
 * children). Every child is also registered with one JVM shutdown hook, so a test JVM that dies
 * half-way (a failed assertion in a constructor, Ctrl-C in Maven) leaves nothing running.
 */
public final class ChildProcess implements AutoCloseable {
  private static final Duration GRACEFUL_STOP = Duration.ofSeconds(10);
  private static final Set<ChildProcess> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> List.copyOf(LIVE).forEach(ChildProcess::close), "child-process-reaper"));
  }

  private final String name;
  private final Process process;
  private final Path log;

  private ChildProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  /**
   * Starts {@code command} with {@code extraEnv} added to this JVM's environment. The log file is
   * appended to, so a restarted process keeps the history of the earlier run.
   */
  public static ChildProcess start(
      String name, List<String> command, Map<String, String> extraEnv, Path log) {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
    builder.environment().putAll(extraEnv);
    try {
      Files.createDirectories(log.getParent());
      ChildProcess child = new ChildProcess(name, builder.start(), log);
      LIVE.add(child);
      return child;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start " + name + ": " + command, e);
    }
  }

  /** The command line of a JVM started like this one, running {@code mainClass}. */
  public static List<String> javaCommand(
      List<String> jvmOptions, String classpath, String mainClass, List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(classpath);
    command.add(mainClass);
    command.addAll(args);
    return command;
  }

  public String name() {
    return name;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public long pid() {
    return process.pid();
  }

  public Path logFile() {
    return log;
  }

  /** The log so far; for assertion messages and for parsing what the child printed. */
  public String logText() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(log " + log + " unreadable: " + e + ")";
    }
  }

  /**
   * Waits for the child to exit on its own.
   *
   * @return the exit code
   * @throws IllegalStateException if it is still running after {@code timeout}; the child is then
   *     killed, so a hung child never outlives the test
   */
  public int waitFor(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        close();
        throw new IllegalStateException(
            name + " did not finish within " + timeout + "; log:\n" + tail(logText()));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new IllegalStateException("Interrupted while waiting for " + name, e);
    }
    LIVE.remove(this);
    return process.exitValue();
  }

  /** Kills the process and all its descendants: politely first, then forcibly. Idempotent. */
  @Override
  public void close() {
    // Snapshot the tree first: once the parent is gone its children are re-parented and lost.
    List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
    tree.add(process.toHandle());
    tree.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + GRACEFUL_STOP.toNanos();
    for (ProcessHandle handle : tree) {
      long left = deadline - System.nanoTime();
      try {
        handle.onExit().get(Math.max(left, 0), TimeUnit.NANOSECONDS);
      } catch (Exception notYet) {
        handle.destroyForcibly();
      }
    }
    for (ProcessHandle handle : tree) {
      try {
        handle.onExit().get(GRACEFUL_STOP.toMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        // Nothing more a JVM can do than SIGKILL; the OS reaps it.
      }
    }
    LIVE.remove(this);
  }

  /** The last lines of a log, enough to see why a child failed without drowning the report. */
  static String tail(String text) {
    int maxChars = 8000;
    return text.length() <= maxChars ? text : "..." + text.substring(text.length() - maxChars);
  }

  private static java.io.File nullDevice() {
    return new java.io.File(
        System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
  }
}
