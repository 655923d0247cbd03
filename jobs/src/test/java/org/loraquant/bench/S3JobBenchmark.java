package org.loraquant.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.loraquant.cli.Main;
import org.loraquant.testing.FaultInjectingProxy;
import org.loraquant.testing.S3ProxyServer;
import org.loraquant.testing.S3aSettings;

/**
 * The nightly job on object storage (issue 17), for {@code bin/bench-job s3}; a benchmark, not a
 * test. Starts S3Proxy on 127.0.0.1, uploads a local fleet to {@code in/} through the S3 API (S3A),
 * then runs {@code loraquant recompress} on local Spark through a {@link FaultInjectingProxy} that
 * holds back each response's first byte by each of the given delays, back to back, each run into
 * fresh output and stats folders (a delay may come twice, e.g. {@code 0 30 0 30}: the first run
 * in a JVM also pays for warming it up). Prints, per run, the job's summary lines, the wall time
 * and the requests the proxy saw by method and area ({@code in} = the adapters, {@code list:in} =
 * listings of them, {@code out-*} and {@code stats-*} = what the run wrote).
 *
 * <p>Usage: {@code S3JobBenchmark FLEET_DIR MASTER DELAY_MS...}; with {@code
 * -Dloraquant.bench.requests=DIR}, each run's requests, one line each (method and target), go to
 * {@code DIR/requests-RUN.txt}; {@code -Dloraquant.bench.args="--flag value ..."} adds job flags to each run's command line;
 * {@code -Dloraquant.bench.conf=K=V;K=V} adds Spark settings to
 * every run (to try e.g. a committer setting).
 */
public final class S3JobBenchmark {
  private S3JobBenchmark() {}

  public static void main(String[] args) throws Exception {
    Path fleet = Path.of(args[0]);
    String master = args[1];
    List<Integer> delays = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      delays.add(Integer.parseInt(args[i]));
    }
    try (S3ProxyServer store = S3ProxyServer.start()) {
      String bucket = S3aSettings.uniqueBucket("bench");
      store.createBucket(bucket);
      Configuration conf = store.hadoopConfiguration();
      long uploaded;
      int adapters;
      try (FileSystem fs = FileSystem.newInstance(URI.create("s3a://" + bucket + "/"), conf)) {
        long[] counts = upload(fs, fleet, "s3a://" + bucket + "/in");
        uploaded = counts[0];
        adapters = (int) counts[1];
      }
      System.out.printf(
          Locale.ROOT, "uploaded %d adapters, %d bytes from %s%n", adapters, uploaded, fleet);
      for (int i = 0; i < delays.size(); i++) {
        int delay = delays.get(i);
        try (FaultInjectingProxy proxy = FaultInjectingProxy.start(store.endpoint())) {
          proxy.delayResponses(Duration.ofMillis(delay));
          String run = "d" + delay + "-" + i; // fresh folders: each run compresses everything
          List<String> command =
              new ArrayList<>(
                  List.of(
                      "recompress",
                      "--input",
                      "s3a://" + bucket + "/in",
                      "--output",
                      "s3a://" + bucket + "/out-" + run,
                      "--stats",
                      "s3a://" + bucket + "/stats-" + run,
                      "--master",
                      master));
          S3aSettings.spark(proxy.endpoint(), S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)
              .forEach((k, v) -> command.addAll(List.of("--conf", k + "=" + v)));
          for (String arg : System.getProperty("loraquant.bench.args", "").split(" ")) {
            if (!arg.isBlank()) {
              command.add(arg);
            }
          }
          for (String extra : System.getProperty("loraquant.bench.conf", "").split(";")) {
            if (!extra.isBlank()) {
              command.addAll(List.of("--conf", extra.trim()));
            }
          }
          ByteArrayOutputStream out = new ByteArrayOutputStream();
          ByteArrayOutputStream err = new ByteArrayOutputStream();
          long start = System.nanoTime();
          int code;
          try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
              PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run(command, o, e);
          }
          double seconds = (System.nanoTime() - start) / 1e9;
          // The job's S3A instance stays in Hadoop's per-JVM cache, pointing at this proxy: close
          // it so that the next run talks to its own.
          FileSystem.get(URI.create("s3a://" + bucket + "/"), conf).close();
          System.out.printf(
              Locale.ROOT, "== s3 run delay=%d ms exit=%d wall=%.1f s%n", delay, code, seconds);
          for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
            if (line.matches("^(run |compressed this run|storage|wall time).*")) {
              System.out.println("   " + line);
            }
          }
          if (code != 0) {
            System.out.println(err.toString(StandardCharsets.UTF_8));
          }
          String requestLog = System.getProperty("loraquant.bench.requests");
          if (requestLog != null) {
            Files.createDirectories(Path.of(requestLog));
            Files.write(Path.of(requestLog, "requests-" + run + ".txt"), proxy.requestLines());
          }
          Map<String, Integer> kinds = proxy.requestsByKind();
          int input = 0;
          for (Map.Entry<String, Integer> e : kinds.entrySet()) {
            if (e.getKey().endsWith(" in") || e.getKey().endsWith(" list:in")) {
              input += e.getValue();
            }
          }
          System.out.printf(
              Locale.ROOT,
              "   requests: %d in all, %d on the input (%.1f per adapter), at most %d under way at"
                  + " once: %s%n",
              proxy.requestCount(),
              input,
              (double) input / adapters,
              proxy.mostUnderWay(),
              kinds);
        }
      }
    }
  }

  /** Uploads every file under {@code local} (hidden ones aside); returns {bytes, adapters}. */
  private static long[] upload(FileSystem fs, Path local, String target) throws IOException {
    long bytes = 0;
    long adapters = 0;
    List<Path> files;
    try (Stream<Path> walk = Files.walk(local)) {
      files =
          walk.filter(Files::isRegularFile)
              .filter(p -> !local.relativize(p).toString().matches("(^|.*/)[._].*"))
              .sorted()
              .toList();
    }
    byte[] buffer = new byte[1 << 20];
    for (Path file : files) {
      String key = target + "/" + local.relativize(file).toString().replace('\\', '/');
      try (InputStream in = Files.newInputStream(file);
          OutputStream out = fs.create(new org.apache.hadoop.fs.Path(key), true)) {
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
          out.write(buffer, 0, n);
          bytes += n;
        }
      }
      if (file.getFileName().toString().equals("adapter_config.json")) {
        adapters++;
      }
    }
    return new long[] {bytes, adapters};
  }
}
