package org.loraquant.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/**
 * Packs compiled test classes into a small jar that spark-submit can ship, so cluster tests run a
 * program of their own without depending on {@code mvn package}.
 */
public final class TestJar {
  private TestJar() {}

  /**
   * Writes {@code jar} with each class and its nested and anonymous classes ({@code Name$*.class})
   * from {@code classesRoot}; the first class becomes the manifest's Main-Class.
   */
  public static Path build(Path jar, Path classesRoot, Class<?>... classes) {
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, classes[0].getName());
    try {
      Files.createDirectories(jar.getParent());
      try (OutputStream file = Files.newOutputStream(jar);
          JarOutputStream out = new JarOutputStream(file, manifest)) {
        for (Class<?> type : classes) {
          for (Path classFile : classFiles(classesRoot, type)) {
            out.putNextEntry(
                new JarEntry(classesRoot.relativize(classFile).toString().replace('\\', '/')));
            Files.copy(classFile, out);
            out.closeEntry();
          }
        }
      }
      return jar;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not build " + jar, e);
    }
  }

  private static List<Path> classFiles(Path classesRoot, Class<?> type) throws IOException {
    Path packageDir = classesRoot.resolve(type.getPackageName().replace('.', '/'));
    String simpleName = type.getSimpleName();
    try (Stream<Path> files = Files.list(packageDir)) {
      List<Path> found =
          files
              .filter(
                  path -> {
                    String name = path.getFileName().toString();
                    return name.equals(simpleName + ".class")
                        || (name.startsWith(simpleName + "$") && name.endsWith(".class"));
                  })
              .sorted()
              .toList();
      if (found.isEmpty()) {
        throw new IllegalStateException(
            "No class files for " + type.getName() + " under " + classesRoot);
      }
      return found;
    }
  }
}
