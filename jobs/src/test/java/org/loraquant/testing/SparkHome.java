package org.loraquant.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A SPARK_HOME made from the Maven-resolved jars: {@code jars/} holds a link to every jar of {@code
 * jobs/target/classpath.txt}, {@code work/} is for the workers.
 *
 * <p>Workers launch executors and drivers with {@code -cp SPARK_HOME/jars/*}; without that
 * directory they fail with "Library directory ... does not exist; make sure Spark is built".
 */
final class SparkHome {
  private final Path root;

  private SparkHome(Path root) {
    this.root = root;
  }

  static SparkHome create(Path root, String classpath) {
    Path jars = root.resolve("jars");
    try {
      Files.createDirectories(jars);
      Files.createDirectories(root.resolve("conf"));
      Set<String> taken = new HashSet<>();
      for (String entry : classpath.split(java.io.File.pathSeparator)) {
        Path source = Path.of(entry);
        if (!entry.endsWith(".jar") || !Files.isRegularFile(source)) {
          continue; // class directories (lib/target/classes): the application jar brings its own
        }
        String name = source.getFileName().toString();
        if (name.startsWith("loraquant-")) {
          // Our own jars (lib/target/loraquant-lib-*.jar in a reactor build): a real cluster has
          // none, so the application jar must bring them; a copy here would hide one that does not.
          continue;
        }
        // Two artifacts can share a file name; both must stay on the classpath.
        String linkName = taken.add(name) ? name : taken.size() + "-" + name;
        taken.add(linkName);
        Files.createSymbolicLink(jars.resolve(linkName), source.toAbsolutePath());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Could not create SPARK_HOME at " + root, e);
    }
    return new SparkHome(root);
  }

  Path root() {
    return root;
  }

  /** For {@code java -cp}: the JVM expands the wildcard. */
  String classpath() {
    return root.resolve("jars") + java.io.File.separator + "*";
  }

  /**
   * Environment for every Spark daemon and submitter. SPARK_SCALA_VERSION: without it the worker
   * cannot build an executor command line from a SPARK_HOME that is not a Spark distribution, and
   * every executor fails. SPARK_LOCAL_IP: RPC and web UIs bind to loopback instead of 0.0.0.0.
   */
  Map<String, String> environment() {
    return Map.of(
        "SPARK_HOME",
        root.toString(),
        "SPARK_SCALA_VERSION",
        "2.13",
        "SPARK_LOCAL_IP",
        LoopbackPorts.HOST,
        "SPARK_CONF_DIR",
        root.resolve("conf").toString());
  }
}
