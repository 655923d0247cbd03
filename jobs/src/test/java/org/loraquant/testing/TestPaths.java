package org.loraquant.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the build puts the files the harness needs (see jobs/pom.xml). */
public final class TestPaths {
  private TestPaths() {}

  /** {@code jobs/}: the module directory, which is the working directory of surefire and failsafe. */
  public static Path jobsModule() {
    String root = System.getProperty("loraquant.project.root");
    Path candidate = root == null ? Path.of("").toAbsolutePath() : Path.of(root, "jobs");
    return Files.isDirectory(candidate.resolve("target")) ? candidate : Path.of("").toAbsolutePath();
  }

  public static Path jobsTarget() {
    return jobsModule().resolve("target");
  }

  /** Copied by maven-dependency-plugin at process-test-resources. */
  public static Path s3proxyJar() {
    return requireFile(jobsTarget().resolve("test-tools/s3proxy.jar"), "mvn -pl lib,jobs test-compile");
  }

  /** Spark, Hadoop and our runtime dependencies; written by maven-dependency-plugin at process-classes. */
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
