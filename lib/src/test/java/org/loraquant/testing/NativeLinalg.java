package org.loraquant.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.loraquant.linalg.LinearAlgebra;

/**
 * Whether the tests of the native LAPACK/BLAS backend run. Where no native library loads they are
 * skipped with a reason, except when the environment variable {@value #REQUIRE} is {@code 1}:
 * {@code bin/test} sets it after installing OpenBLAS (as root on Debian/Ubuntu, so in CI), and then
 * a missing native backend fails the tests instead of hiding the backend production runs on.
 */
public final class NativeLinalg {
  public static final String REQUIRE = "LORAQUANT_REQUIRE_NATIVE_LINALG";

  private NativeLinalg() {}

  /** True when native tests must run here: the library loads, or it is required and so fails. */
  public static boolean tested() {
    if (LinearAlgebra.nativeAvailable()) {
      return true;
    }
    if (required()) {
      fail(REQUIRE + "=1 but native LAPACK/BLAS does not load: " + loadError());
    }
    return false;
  }

  /** Skips the calling test (with the reason) unless the native backend is tested here. */
  public static void assumeTested() {
    assumeTrue(tested(), () -> "native LAPACK not available (" + loadError()
        + "); bin/test installs libopenblas0 when run as root on Debian/Ubuntu");
  }

  private static boolean required() {
    return "1".equals(System.getenv(REQUIRE));
  }

  private static String loadError() {
    try {
      LinearAlgebra.nativeOnly();
      return "it loads";
    } catch (IllegalStateException e) {
      return e.getMessage();
    }
  }
}
