package org.loraquant.linalg;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ludovic.netlib.blas.JavaBLAS;
import dev.ludovic.netlib.lapack.JavaLAPACK;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Arrays;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * Pure-Java LAPACK under concurrent task threads gives the single-threaded results bit for bit.
 * f2j's dlamch works out the machine constants (eps, safe minimum, ...) on first use into shared
 * static fields, and threads doing that at once can leave them wrong for the rest of the JVM: SVDs
 * then come out with other bits, fail to converge, or loop forever. Each run loads netlib and the
 * linalg classes in a class loader of its own, so it meets that first use as a new executor JVM
 * does, whatever ran in this JVM before. Before the fix, about half the runs of 16 threads failed
 * (mostly hangs in dlarfg, some with other bits).
 */
class PureJavaLapackConcurrencyTest {
  private static final int THREADS = 16;
  private static final long SEED = 16;
  /** Far above a run's time on a loaded machine; a hung run fails instead of blocking the build. */
  private static final int HANG_SECONDS = 120;

  /** One rank-32 problem per thread: all threads reach their first LAPACK call together. */
  @Test
  void threadsMakingTheirFirstCallsAtOnceGetTheSingleThreadedBits() throws Exception {
    int[] ranks = new int[THREADS];
    Arrays.fill(ranks, 32);
    double[][] expected = freshRun(1, ranks);
    for (int run = 0; run < 8; run++) {
      assertSameBits(freshRun(THREADS, ranks), expected, run);
    }
  }

  /**
   * 64 problems of ranks 32 to 256 on 16 threads, {@link QrFactoredSvd} (even cases) and
   * {@link GramFactoredSvd} (odd) alternating, each with one problem of rank 128 and one of 256.
   */
  @Test
  void manyConcurrentSvdsGetTheSingleThreadedBits() throws Exception {
    int[] ranks = new int[64];
    for (int i = 0; i < ranks.length; i++) {
      ranks[i] = 32 + 8 * (i % 9);
    }
    ranks[30] = 256;
    ranks[63] = 256;
    ranks[46] = 128;
    ranks[15] = 128;
    assertSameBits(freshRun(THREADS, ranks), freshRun(1, ranks), 0);
  }

  private static void assertSameBits(double[][] actual, double[][] expected, int run) {
    for (int i = 0; i < expected.length; i++) {
      assertThat(Arrays.mismatch(actual[i], expected[i]))
          .as("run %d, case %d: first value whose bits differ", run, i).isEqualTo(-1);
    }
  }

  /**
   * {@link ConcurrentSvdRun#run} in a class loader of its own (netlib state as in a new JVM), with
   * netlib's logging off: each loader would repeat its once-per-JVM warning about the vector API.
   */
  private static double[][] freshRun(int threads, int[] ranks) throws Exception {
    Logger netlib = Logger.getLogger("dev.ludovic.netlib");
    Level level = netlib.getLevel();
    netlib.setLevel(Level.OFF);
    try {
      return freshRunLogged(threads, ranks);
    } finally {
      netlib.setLevel(level);
    }
  }

  private static double[][] freshRunLogged(int threads, int[] ranks) throws Exception {
    URL[] classpath = {
        location(ConcurrentSvdRun.class), location(LinearAlgebra.class), location(JavaLAPACK.class),
        location(JavaBLAS.class), location(org.netlib.lapack.Dlamch.class)};
    ClassLoader jdkOnly = ClassLoader.getPlatformClassLoader();
    try (URLClassLoader loader = new URLClassLoader(classpath, jdkOnly)) {
      Class<?> run = loader.loadClass(ConcurrentSvdRun.class.getName());
      assertThat(run).isNotSameAs(ConcurrentSvdRun.class);
      try {
        return (double[][]) run.getMethod("run", int.class, int[].class, long.class, int.class)
            .invoke(null, threads, ranks, SEED, HANG_SECONDS);
      } catch (InvocationTargetException e) {
        throw e.getCause() instanceof Exception cause ? cause : e;
      }
    }
  }

  private static URL location(Class<?> type) {
    return type.getProtectionDomain().getCodeSource().getLocation();
  }
}
