package org.loraquant.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the build puts the files the harness needs (see jobs/pom.xml). */
public final class TestPaths {
  private TestPaths() {}

  /**
   * {@code jobs/target}. Failsafe names it ({@code loraquant.jobs.target}), surefire names the
   * project root ({@code loraquant.project.root}, parent pom); otherwise the working directory,
   * which both plugins set to the module, decides.
   */
  public static Path jobsTarget() {
    String target = System.getProperty("loraquant.jobs.target");
    if (target != null) {
      return Path.of(target);
    }
    String root = System.getProperty("loraquant.project.root");
    return root != null ? Path.of(root, "jobs", "target") : Path.of("target").toAbsolutePath();
  }

  /** The jobs module folder (the parent of {@link #jobsTarget()}). */
  public static Path jobsModule() {
    return jobsTarget().toAbsolutePath().getParent();
  }

  /** Copied by maven-dependency-plugin at process-test-resources. */
  public static Path s3proxyJar() {
    return requireFile(
        jobsTarget().resolve("test-tools/s3proxy.jar"), "mvn -pl lib,jobs test-compile");
  }

  /**
   * Spark, Hadoop and our runtime dependencies; written by maven-dependency-plugin at
   * process-classes.
   */
  public static String sparkClasspath() {
    Path file = requireFile(jobsTarget().resolve("classpath.txt"), "mvn -pl lib,jobs compile");
    try {
      return Files.readString(file).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Compiled test classes; the cluster test packs its Spark program from here. */
  public static Path testClasses() {
    return jobsTarget().resolve("test-classes");
  }

  private static Path requireFile(Path path, String howToBuild) {
    if (!Files.isRegularFile(path)) {
      throw new IllegalStateException(path + " is missing; build it with: " + howToBuild);
    }
    return path;
  }
}
