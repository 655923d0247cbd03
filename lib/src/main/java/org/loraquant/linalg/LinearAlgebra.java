package org.loraquant.linalg;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.JavaBLAS;
import dev.ludovic.netlib.blas.NativeBLAS;
import dev.ludovic.netlib.lapack.JavaLAPACK;
import dev.ludovic.netlib.lapack.LAPACK;
import dev.ludovic.netlib.lapack.NativeLAPACK;
import java.util.Locale;

/**
 * The LAPACK and BLAS implementations the codec calls. netlib picks native (JNI over the system's
 * {@code libblas.so.3} / {@code liblapack.so.3}, e.g. OpenBLAS) when it loads and pure Java
 * otherwise; results agree to rounding, not bit for bit, so byte-identical output is promised for
 * one backend at a time.
 *
 * <p>Choice, in order of precedence: an explicit {@link #javaOnly()} / {@link #nativeOnly()}
 * passed by the caller; otherwise the system property {@value #PROPERTY} read by
 * {@link #current()}: {@code auto} (default, netlib's own choice), {@code native} (fail if native
 * cannot load) or {@code java}.
 *
 * <p>Immutable and thread-safe: netlib instances are stateless singletons.
 */
public final class LinearAlgebra {
  public static final String PROPERTY = "loraquant.linalg";

  private final LAPACK lapack;
  private final BLAS blas;

  private LinearAlgebra(LAPACK lapack, BLAS blas) {
    this.lapack = lapack;
    this.blas = blas;
  }

  /** The backend chosen by the system property {@value #PROPERTY} (auto | native | java). */
  public static LinearAlgebra current() {
    String choice = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    switch (choice) {
      case "auto":
        return new LinearAlgebra(LAPACK.getInstance(), BLAS.getInstance());
      case "native":
        return nativeOnly();
      case "java":
        return javaOnly();
      default:
        throw new IllegalArgumentException("Invalid " + PROPERTY + ": '" + choice
            + "'; use auto, native or java");
    }
  }

  /** Pure-Java LAPACK and BLAS; always available. */
  public static LinearAlgebra javaOnly() {
    return new LinearAlgebra(JavaLAPACK.getInstance(), JavaBLAS.getInstance());
  }

  /**
   * Native LAPACK and BLAS.
   *
   * @throws IllegalStateException if the native libraries cannot be loaded (on Debian:
   *     {@code apt-get install libopenblas0})
   */
  public static LinearAlgebra nativeOnly() {
    try {
      return new LinearAlgebra(NativeLAPACK.getInstance(), NativeBLAS.getInstance());
    } catch (RuntimeException | LinkageError e) {
      throw new IllegalStateException("Native LAPACK/BLAS could not be loaded (" + e
          + "); install a system BLAS/LAPACK such as libopenblas0 or use -D" + PROPERTY + "=java", e);
    }
  }

  /** Whether native LAPACK and BLAS can be loaded in this JVM. */
  public static boolean nativeAvailable() {
    try {
      nativeOnly();
      return true;
    } catch (IllegalStateException e) {
      return false;
    }
  }

  public LAPACK lapack() {
    return lapack;
  }

  public BLAS blas() {
    return blas;
  }

  public boolean isNative() {
    return lapack instanceof NativeLAPACK && blas instanceof NativeBLAS;
  }

  /** Implementation class names, for benchmark and log output. */
  public String describe() {
    return "LAPACK=" + lapack.getClass().getSimpleName() + " BLAS=" + blas.getClass().getSimpleName();
  }

  @Override
  public String toString() {
    return describe();
  }
}
