package org.loraquant.linalg;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;

/**
 * Factored SVDs of seeded random factors on pure-Java LAPACK, spread over threads that start
 * together, as Spark task threads do. {@link PureJavaLapackConcurrencyTest} loads this class in a
 * fresh class loader, so every run meets netlib's classes (and their static state) as a new JVM
 * would; only JDK types cross the loader boundary.
 */
public final class ConcurrentSvdRun {
  private ConcurrentSvdRun() {}

  /**
   * Decomposes one seeded problem of rank {@code ranks[i]} per case i (sizes a little above the
   * rank), case i on thread i % threads; each thread gets its own {@link LinearAlgebra#javaOnly()}
   * and routes as a task would, and waits for the others before its first LAPACK call. Even cases
   * take the Householder route (dgeqrf, dorgqr, dgesdd), odd ones {@link GramFactoredSvd} (dpotrf,
   * dtrcon, then dgesdd, or the Householder route where the Gram one is not safe).
   *
   * @param hangSeconds how long to wait for the threads: corrupted constants can make LAPACK loop
   *     forever (dlarfg rescaling by 1 / safmin), and then the run fails and leaves them behind
   * @return per case, s, U and V of its thin SVD, concatenated
   * @throws Exception the first failure of any thread, or an {@link IllegalStateException} for a
   *     hang
   */
  public static double[][] run(int threads, int[] ranks, long seed, int hangSeconds)
      throws Exception {
    int cases = ranks.length;
    double[][] results = new double[cases][];
    CyclicBarrier start = new CyclicBarrier(threads);
    List<Throwable> failures = new ArrayList<>();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int first = t;
      Thread worker = new Thread(() -> {
        try {
          LinearAlgebra linalg = LinearAlgebra.javaOnly();
          FactoredSvd householder = new QrFactoredSvd(linalg);
          FactoredSvd gram = new GramFactoredSvd(linalg, 1);
          start.await();
          for (int i = first; i < cases; i += threads) {
            results[i] = decompose(i % 2 == 0 ? householder : gram, seed + i, ranks[i]);
          }
        } catch (Throwable e) {
          synchronized (failures) {
            failures.add(e);
          }
          start.reset();
        }
      });
      worker.setDaemon(true);
      worker.start();
      workers.add(worker);
    }
    long deadline = System.nanoTime() + hangSeconds * 1_000_000_000L;
    for (Thread worker : workers) {
      worker.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      if (worker.isAlive()) {
        throw new IllegalStateException("a thread still runs after " + hangSeconds + " s: "
            + Arrays.toString(worker.getStackTrace()));
      }
    }
    if (!failures.isEmpty()) {
      Throwable first = failures.get(0);
      throw first instanceof Exception e ? e : new RuntimeException(first);
    }
    return results;
  }

  private static double[] decompose(FactoredSvd svd, long seed, int r) {
    Random random = new Random(seed);
    int m = r + 1 + random.nextInt(32);
    int n = r + 1 + random.nextInt(32);
    double[] b = gaussian(random, m * r);
    double[] at = gaussian(random, n * r);
    ThinSvd result = svd.decompose(m, n, r, b, at);
    double[] all = new double[result.s().length + result.u().length + result.v().length];
    System.arraycopy(result.s(), 0, all, 0, result.s().length);
    System.arraycopy(result.u(), 0, all, result.s().length, result.u().length);
    System.arraycopy(result.v(), 0, all, result.s().length + result.u().length, result.v().length);
    return all;
  }

  private static double[] gaussian(Random random, int length) {
    double[] x = new double[length];
    for (int i = 0; i < length; i++) {
      x[i] = random.nextGaussian();
    }
    return x;
  }
}
