package org.loraquant.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * The real PEFT adapters in {@code ../shared/adapters/real} (test data, not shipped). Surefire
 * passes the folder as system property {@code loraquant.shared.adapters}. A checkout without it
 * skips the tests that need it, except on CI ({@code CI=true}), where a missing folder fails.
 */
public final class SharedAdapters {
  public static final String PROPERTY = "loraquant.shared.adapters";

  private SharedAdapters() {}

  /** The folder, or the calling test is skipped (outside CI) or failed (on CI). */
  public static Path folder() {
    String property = System.getProperty(PROPERTY);
    Path dir = property == null ? null : Path.of(property);
    if (dir != null && Files.isRegularFile(dir.resolve("INDEX.tsv"))) {
      return dir.normalize();
    }
    String reason =
        "the real adapters are not available: system property "
            + PROPERTY
            + " is "
            + (property == null ? "unset" : "'" + property + "', which has no INDEX.tsv")
            + " (they live in ../shared/adapters/real next to the checkout)";
    if ("true".equals(System.getenv("CI"))) {
      fail(reason + "; CI=true, so this is a failure");
    }
    Assumptions.abort(reason);
    throw new AssertionError("unreachable");
  }
}
