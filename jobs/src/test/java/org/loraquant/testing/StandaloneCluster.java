package org.loraquant.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.spark.launcher.JavaModuleOptions;

/**
 * A Spark standalone cluster for tests: one master and two workers (1 core, 1 GiB each) as child
 * processes on 127.0.0.1, running from the Maven-resolved Spark jars.
 *
 * <p>{@link #submit} runs spark-submit in client or cluster deploy mode and reports the exit code,
 * the driver's final state and the logs. {@link #close()} kills every process this class started,
 * executors and drivers included.
 */
public final class StandaloneCluster implements AutoCloseable {
  public static final int WORKERS = 2;
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration POLL_INTERVAL = Duration.ofMillis(500);
  private static final Set<String> FINAL_DRIVER_STATES =
      Set.of("FINISHED", "FAILED", "ERROR", "KILLED");

  /**
   * Every JVM here is short-lived and shares two cores with other builds: the C1 compiler alone and
   * the serial collector start faster and burn less CPU than C2 and G1's threads.
   */
  public static final String QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

  /** Where the driver runs: in the spark-submit JVM, or on a worker. */
  public enum DeployMode {
    CLIENT,
    CLUSTER
  }

  /**
   * What a submission came to.
   *
   * @param exitCode spark-submit's exit code; in cluster mode it only says the driver was accepted
   * @param driverId the standalone driver id (cluster mode), else {@code null}
   * @param driverState FINISHED, FAILED, ERROR or KILLED (cluster mode), else {@code null}
   * @param submitLog spark-submit's stdout and stderr (in client mode, the driver's log)
   * @param driverLog the driver's stderr on its worker (cluster mode), else empty
   */
  public record SubmitResult(
      int exitCode, String driverId, String driverState, String submitLog, String driverLog) {
    public boolean succeeded() {
      return exitCode == 0 && (driverState == null || driverState.equals("FINISHED"));
    }

    /** For assertion messages. */
    public String describe() {
      return "exit code "
          + exitCode
          + (driverId == null ? "" : ", driver " + driverId + " " + driverState)
          + "\n--- spark-submit log ---\n"
          + ChildProcess.tail(submitLog)
          + (driverLog.isEmpty() ? "" : "\n--- driver log ---\n" + ChildProcess.tail(driverLog));
    }
  }

  private final Path baseDir;
  private final SparkHome sparkHome;
  private final int masterPort;
  private final int masterUiPort;
  private final List<ChildProcess> daemons = new ArrayList<>();
  private final List<Path> workerDirs = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final ObjectMapper json = new ObjectMapper();
  private int submissions;

  private StandaloneCluster(Path baseDir) {
    this.baseDir = baseDir;
    this.sparkHome = SparkHome.create(baseDir.resolve("spark-home"), TestPaths.sparkClasspath());
    this.masterPort = LoopbackPorts.freePort();
    this.masterUiPort = LoopbackPorts.freePort();
  }

  /** Starts master and workers under {@code baseDir} (a JUnit {@code @TempDir} is ideal). */
  public static StandaloneCluster start(Path baseDir) {
    StandaloneCluster cluster = new StandaloneCluster(baseDir);
    try {
      cluster.startMaster();
      for (int i = 0; i < WORKERS; i++) {
        cluster.startWorker(i);
      }
      cluster.awaitMasterState(
          state -> state.path("aliveworkers").asInt() == WORKERS,
          "both workers registered",
          STARTUP_TIMEOUT);
      return cluster;
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  /** {@code spark://127.0.0.1:PORT} */
  public String masterUrl() {
    return "spark://" + LoopbackPorts.HOST + ":" + masterPort;
  }

  /** The master's state as its web UI serves it at {@code /json/}. */
  public JsonNode masterState() {
    HttpRequest request =
        HttpRequest.newBuilder(
                URI.create("http://" + LoopbackPorts.HOST + ":" + masterUiPort + "/json/"))
            .timeout(Duration.ofSeconds(5))
            .GET()
            .build();
    try {
      return json.readTree(http.send(request, HttpResponse.BodyHandlers.ofString()).body());
    } catch (IOException e) {
      throw new IllegalStateException("Master UI on port " + masterUiPort + " not answering", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Runs spark-submit against this cluster and waits for the application to end.
   *
   * @param sparkConf extra {@code --conf} settings, applied after the harness's own (loopback
   *     binding, no UI, quick-start JVM options), so they can override them
   * @param timeout for the whole submission, driver included; on expiry everything it started is
   *     killed and an exception says so
   */
  public SubmitResult submit(
      DeployMode mode,
      Path appJar,
      String mainClass,
      List<String> appArgs,
      Map<String, String> sparkConf,
      Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Set<String> driversBefore = mode == DeployMode.CLUSTER ? driverIds() : Set.of();
    List<String> args =
        new ArrayList<>(
            List.of(
                "--master",
                masterUrl(),
                "--deploy-mode",
                mode.name().toLowerCase(),
                "--class",
                mainClass));
    args.addAll(
        List.of("--driver-memory", "512m", "--executor-memory", "512m", "--executor-cores", "1"));
    loopbackConf().forEach((key, value) -> args.addAll(List.of("--conf", key + "=" + value)));
    sparkConf.forEach((key, value) -> args.addAll(List.of("--conf", key + "=" + value)));
    args.add(appJar.toAbsolutePath().toString());
    args.addAll(appArgs);

    int number = ++submissions;
    // In client mode this JVM is the driver, so its heap is the driver memory.
    List<String> command =
        ChildProcess.javaCommand(
            jvmOptions("-Xmx512m"),
            sparkHome.classpath(),
            "org.apache.spark.deploy.SparkSubmit",
            args);
    try (ChildProcess submitter =
        ChildProcess.start(
            "spark-submit-" + number,
            command,
            sparkHome.environment(),
            baseDir.resolve("logs/submit-" + number + ".log"))) {
      int exitCode = submitter.waitFor(remaining(deadline));
      if (mode == DeployMode.CLIENT) {
        return new SubmitResult(exitCode, null, null, submitter.logText(), "");
      }
      if (exitCode != 0) {
        return new SubmitResult(exitCode, null, null, submitter.logText(), "");
      }
      String driverId = awaitNewDriver(driversBefore, deadline);
      String state = awaitDriverEnd(driverId, deadline);
      return new SubmitResult(exitCode, driverId, state, submitter.logText(), driverLog(driverId));
    }
  }

  /** Stops workers (their executors and drivers with them), then the master. Idempotent. */
  @Override
  public void close() {
    for (int i = daemons.size() - 1; i >= 0; i--) {
      daemons.get(i).close();
    }
  }

  private void startMaster() {
    List<String> args =
        List.of(
            "--host",
            LoopbackPorts.HOST,
            "--port",
            Integer.toString(masterPort),
            "--webui-port",
            Integer.toString(masterUiPort));
    daemons.add(daemon("master", "org.apache.spark.deploy.master.Master", args));
    awaitMasterState(
        state -> state.path("status").asText().equals("ALIVE"), "master alive", STARTUP_TIMEOUT);
  }

  private void startWorker(int index) {
    Path workDir = baseDir.resolve("worker-" + index);
    workerDirs.add(workDir);
    List<String> args =
        List.of(
            "--host",
            LoopbackPorts.HOST,
            "--port",
            Integer.toString(LoopbackPorts.freePort()),
            "--webui-port",
            Integer.toString(LoopbackPorts.freePort()),
            "--cores",
            "1",
            "--memory",
            "1g",
            "--work-dir",
            workDir.toString(),
            masterUrl());
    daemons.add(daemon("worker-" + index, "org.apache.spark.deploy.worker.Worker", args));
  }

  private ChildProcess daemon(String name, String mainClass, List<String> args) {
    List<String> command =
        ChildProcess.javaCommand(jvmOptions("-Xmx256m"), sparkHome.classpath(), mainClass, args);
    return ChildProcess.start(
        name, command, sparkHome.environment(), baseDir.resolve("logs/" + name + ".log"));
  }

  private static Map<String, String> loopbackConf() {
    return Map.of(
        "spark.driver.host",
        LoopbackPorts.HOST,
        "spark.driver.bindAddress",
        LoopbackPorts.HOST,
        "spark.ui.enabled",
        "false",
        "spark.driver.extraJavaOptions",
        QUICK_JVM,
        "spark.executor.extraJavaOptions",
        QUICK_JVM);
  }

  /**
   * Spark's launcher (bin/spark-class) gives every JVM it starts the module options Spark needs on
   * Java 17: without {@code --add-opens java.base/java.nio} a client-mode driver cannot even create
   * a KryoSerializer. This harness starts the JVMs itself, so it adds them the same way.
   */
  private static List<String> jvmOptions(String heap) {
    List<String> options = new ArrayList<>(List.of(QUICK_JVM.split(" ")));
    options.addAll(List.of(JavaModuleOptions.defaultModuleOptions().split(" ")));
    options.add(heap);
    return options;
  }

  private void awaitMasterState(Predicate<JsonNode> condition, String what, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    RuntimeException lastError = null;
    while (System.nanoTime() < deadline) {
      for (ChildProcess daemon : daemons) {
        if (!daemon.isAlive()) {
          throw new IllegalStateException(
              daemon.name()
                  + " exited while waiting for "
                  + what
                  + "; log:\n"
                  + ChildProcess.tail(daemon.logText()));
        }
      }
      try {
        if (condition.test(masterState())) {
          return;
        }
      } catch (RuntimeException notYet) {
        lastError = notYet;
      }
      Polling.pause(POLL_INTERVAL);
    }
    throw new IllegalStateException(
        "Timed out after " + timeout + " waiting for " + what + logsOfDaemons(), lastError);
  }

  private Set<String> driverIds() {
    Set<String> ids = new HashSet<>();
    JsonNode state = masterState();
    for (String list : List.of("activedrivers", "completeddrivers")) {
      state.path(list).forEach(driver -> ids.add(driver.path("id").asText()));
    }
    return ids;
  }

  private String awaitNewDriver(Set<String> before, long deadline) {
    while (System.nanoTime() < deadline) {
      Set<String> now = driverIds();
      now.removeAll(before);
      if (!now.isEmpty()) {
        return now.iterator().next();
      }
      Polling.pause(POLL_INTERVAL);
    }
    throw new IllegalStateException(
        "spark-submit succeeded but the master never listed a new driver" + logsOfDaemons());
  }

  /** Polls the master until the driver reaches a final state. */
  private String awaitDriverEnd(String driverId, long deadline) {
    while (System.nanoTime() < deadline) {
      for (JsonNode driver : masterState().path("completeddrivers")) {
        String state = driver.path("state").asText();
        if (driver.path("id").asText().equals(driverId) && FINAL_DRIVER_STATES.contains(state)) {
          return state;
        }
      }
      Polling.pause(POLL_INTERVAL);
    }
    throw new IllegalStateException(
        "Driver "
            + driverId
            + " did not finish in time; driver log:\n"
            + ChildProcess.tail(driverLog(driverId)));
  }

  /** A standalone driver logs to WORKER_DIR/DRIVER_ID/stderr on the worker that ran it. */
  private String driverLog(String driverId) {
    for (Path workerDir : workerDirs) {
      Path stderr = workerDir.resolve(driverId).resolve("stderr");
      if (Files.isRegularFile(stderr)) {
        try {
          return Files.readString(stderr);
        } catch (IOException e) {
          return "(unreadable " + stderr + ": " + e + ")";
        }
      }
    }
    return "";
  }

  private String logsOfDaemons() {
    StringBuilder logs = new StringBuilder();
    for (ChildProcess daemon : daemons) {
      logs.append("\n--- ")
          .append(daemon.name())
          .append(" ---\n")
          .append(ChildProcess.tail(daemon.logText()));
    }
    return logs.toString();
  }

  private static Duration remaining(long deadline) {
    return Duration.ofNanos(Math.max(deadline - System.nanoTime(), 0));
  }
}
