package org.loraquant.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.loraquant.testing.TestPaths;

/**
 * The packages of jobs/ depend on each other in one direction only (docs/ARCHITECTURE.md): Hadoop
 * storage knows no job, the stats tables know no stage, the stages know not the runner that wires
 * them, the flag declarations know nothing of jobs/, and no two packages need each other. lib/'s
 * freedom from Spark and Hadoop is the enforcer's (lib/pom.xml); this is the same for the
 * packages inside jobs/. Dependencies are read from the sources: imports and fully qualified names.
 */
class PackageDependenciesTest {
  private static final String ROOT = "org.loraquant.";
  /** {@code org.loraquant.a.b.Name} or {@code import org.loraquant.a.b.*}. */
  private static final Pattern REFERENCE = Pattern.compile("\\borg\\.loraquant\\.((?:[a-z0-9]+\\.)*)(?:[A-Z*])");
  private static final Pattern PACKAGE = Pattern.compile("(?m)^package org\\.loraquant\\.([a-z0-9.]+);");

  @Test
  void jobsPackagesDependInOneDirection() throws IOException {
    Map<String, Set<String>> uses = dependencies(TestPaths.jobsModule().resolve("src/main/java"));
    Set<String> jobs = uses.keySet();
    assertThat(jobs).contains("hadoop", "stats", "spark", "spark.stage", "options", "cli");

    assertThat(jobsUsedBy("hadoop", uses, jobs)).as("hadoop uses no job package").isEmpty();
    assertThat(jobsUsedBy("options", uses, jobs)).as("options uses no job package").isEmpty();
    assertThat(jobsUsedBy("stats", uses, jobs)).as("stats uses storage only").containsOnly("hadoop");
    assertThat(uses.get("spark.stage")).as("the stages do not use the runner").doesNotContain("spark", "cli");
    for (String p : jobs) {
      if (!p.equals("cli")) {
        assertThat(uses.get(p)).as("%s uses no command", p).doesNotContain("cli");
      }
    }
    assertThat(cycles(uses)).as("package cycles").isEmpty();
  }

  private static Set<String> jobsUsedBy(String p, Map<String, Set<String>> uses, Set<String> jobs) {
    Set<String> used = new TreeSet<>(uses.get(p));
    used.retainAll(jobs);
    return used;
  }

  /** Each package of {@code sources} and the org.loraquant packages its classes refer to. */
  private static Map<String, Set<String>> dependencies(Path sources) throws IOException {
    Map<String, Set<String>> uses = new TreeMap<>();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(sources)) {
      files = walk.filter(f -> f.toString().endsWith(".java")).toList();
    }
    for (Path file : files) {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      Matcher pkg = PACKAGE.matcher(text);
      assertThat(pkg.find()).as("package line of %s", file).isTrue();
      String own = pkg.group(1);
      Set<String> used = uses.computeIfAbsent(own, k -> new TreeSet<>());
      Matcher m = REFERENCE.matcher(withoutComments(text.substring(pkg.end())));
      while (m.find()) {
        String p = m.group(1).isEmpty() ? "" : m.group(1).substring(0, m.group(1).length() - 1);
        if (!p.isEmpty() && !p.equals(own)) {
          used.add(p);
        }
      }
    }
    return uses;
  }

  /** Javadoc may name any class; only code makes a dependency. */
  private static String withoutComments(String text) {
    return text.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "");
  }

  /** Pairs of jobs packages that need each other, directly or through others. */
  private static List<String> cycles(Map<String, Set<String>> uses) {
    List<String> found = new ArrayList<>();
    for (String a : uses.keySet()) {
      for (String b : uses.keySet()) {
        if (a.compareTo(b) < 0 && reaches(a, b, uses) && reaches(b, a, uses)) {
          found.add(a + " <-> " + b);
        }
      }
    }
    return found;
  }

  private static boolean reaches(String from, String to, Map<String, Set<String>> uses) {
    Set<String> seen = new TreeSet<>();
    List<String> todo = new ArrayList<>(List.of(from));
    while (!todo.isEmpty()) {
      String p = todo.remove(todo.size() - 1);
      for (String q : uses.getOrDefault(p, Set.of())) {
        if (q.equals(to)) {
          return true;
        }
        if (uses.containsKey(q) && seen.add(q)) {
          todo.add(q);
        }
      }
    }
    return false;
  }
}
