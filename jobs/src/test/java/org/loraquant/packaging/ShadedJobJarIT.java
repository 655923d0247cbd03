package org.loraquant.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.loraquant.testing.TestPaths;

/**
 * The job jar that spark-submit ships must not carry what the cluster provides (Spark, Hadoop, the
 * AWS SDK: two copies of a class on one classpath fail in ways that depend on load order), and
 * Jackson must be relocated, because Spark brings its own Jackson version.
 */
class ShadedJobJarIT {
  /**
   * Our classes plus relocated Jackson are about 3 MiB; Spark or Hadoop slipping in would add
   * hundreds. The margin leaves room for the job to grow without editing this test.
   */
  private static final long MAX_JAR_BYTES = 12L * 1024 * 1024;

  private static final List<String> PROVIDED_BY_THE_CLUSTER =
      List.of("org/apache/spark/", "org/apache/hadoop/", "software/amazon/", "scala/");

  @Test
  void shadedJarLeavesOutTheClusterAndRelocatesJackson() throws IOException {
    Path jar = shadedJar();

    assertThat(Files.size(jar)).as("size of %s", jar).isLessThan(MAX_JAR_BYTES);
    List<String> classes = classEntries(jar);
    assertThat(classes)
        .as("classes in %s", jar)
        .anyMatch(name -> name.startsWith("org/loraquant/"));
    for (String prefix : PROVIDED_BY_THE_CLUSTER) {
      assertThat(classes)
          .as("classes the cluster provides, in %s", jar)
          .noneMatch(name -> name.contains(prefix));
    }
    assertThat(classes)
        .as("unrelocated Jackson in %s", jar)
        .noneMatch(name -> name.contains("com/fasterxml/"));
    assertThat(classes)
        .as("relocated Jackson in %s", jar)
        .anyMatch(name -> name.startsWith("org/loraquant/shaded/jackson/"));
  }

  /**
   * The classes a JVM can load from the jar: the root entries, and META-INF/versions/N/ entries
   * only if the manifest declares the jar multi-release. Without that attribute versioned entries
   * are inert (jackson-core's unrelocated FastDouble helpers, which the shade plugin copies but
   * does not relocate, are such dead entries today).
   */
  private static List<String> classEntries(Path jar) throws IOException {
    try (JarFile file = new JarFile(jar.toFile())) {
      Manifest manifest = file.getManifest();
      boolean multiRelease =
          manifest != null
              && "true".equalsIgnoreCase(manifest.getMainAttributes().getValue("Multi-Release"));
      return file.stream()
          .map(JarEntry::getName)
          .filter(name -> name.endsWith(".class"))
          .filter(name -> multiRelease || !name.startsWith("META-INF/versions/"))
          .toList();
    }
  }

  private static Path shadedJar() throws IOException {
    Path target = TestPaths.jobsTarget();
    try (Stream<Path> files = Files.list(target)) {
      List<Path> jars =
          files
              .filter(
                  path -> path.getFileName().toString().matches("loraquant-jobs-.*-spark\\.jar"))
              .toList();
      assertThat(jars).as("shaded job jars in %s (built by mvn package)", target).hasSize(1);
      return jars.get(0);
    }
  }
}
