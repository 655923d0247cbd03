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
 * <p>Immutable and thread-safe. Native LAPACK and BLAS are thread-safe and used without locks.
 * Pure-Java LAPACK (f2j) is thread-safe once its machine constants are filled, which this class
 * does while it initialises: see {@link #fillMachineConstants}.
 */
public final class LinearAlgebra {
  public static final String PROPERTY = "loraquant.linalg";

  static {
    fillMachineConstants();
  }

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

  /**
   * Fills f2j's machine constants before any pure-Java LAPACK call. f2j's dlamch works them out
   * (eps, safe minimum, overflow, ...) on first use into shared static fields of Dlamch, Dlamc1 and
   * Dlamc2, and Dlamc2 marks them done before it has all of them: task threads making their first
   * LAPACK calls at once read or save half-computed values, and then results differ in their bits,
   * dgesdd does not converge, or dlarfg loops forever. Called from this class's initialiser, which
   * every path to a LAPACK instance goes through, so each thread sees the constants complete (class
   * initialisation happens-before any use of the class). Afterwards every dlamch call rewrites the
   * same values, and the other routines the codec reaches (dgesdd, dgeqrf, dorgqr, dpotrf, dtrcon
   * and all they call) keep no static state, so no lock is needed (docs/ARCHITECTURE.md, "Linear
   * algebra and threads").
   */
  private static void fillMachineConstants() {
    LAPACK java = JavaLAPACK.getInstance();
    for (String constant : new String[] {"E", "S", "B", "P", "N", "R", "M", "U", "L", "O"}) {
      java.dlamch(constant);
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
