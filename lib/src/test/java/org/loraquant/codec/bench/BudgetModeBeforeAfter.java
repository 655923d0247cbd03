package org.loraquant.codec.bench;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Two builds of the codec in one JVM, timed in alternation: {@link BudgetModeCpuTime}'s per-layer
 * thread CPU time of the paper and the budget mode, for a "before" and an "after" build, each
 * batch in the order ABBA, so both see the same load (on a shared host, back-to-back processes
 * differed by more than the changes measured). Each build is loaded by its own class loader from
 * its {@code classes} and {@code test-classes} folders, the codec's classes first, over this
 * JVM's classpath for the dependencies (netlib's native binding loads once). Also prints the bytes the budget mode
 * allocates per layer (thread allocation counter). Arguments: before folder, after folder, shape,
 * batches.
 */
public final class BudgetModeBeforeAfter {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private BudgetModeBeforeAfter() {}

  /** One build's two modes on the shape's benchmark layer. */
  private record Build(Runnable paper, Runnable budget) {
    static Build load(Path dir, String shape) throws ReflectiveOperationException,
        java.io.IOException {
      ClassLoader loader = new URLClassLoader(new URL[] {dir.resolve("classes").toUri().toURL(),
          dir.resolve("test-classes").toUri().toURL()}, ClassLoader.getSystemClassLoader()) {
        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
          // The codec's own classes from this build, never from the JVM's classpath.
          if (name.startsWith("org.loraquant.")) {
            synchronized (getClassLoadingLock(name)) {
              Class<?> c = findLoadedClass(name);
              return c != null ? c : findClass(name);
            }
          }
          return super.loadClass(name, resolve);
        }
      };
      Class<?> layers = loader.loadClass("org.loraquant.codec.bench.BenchmarkLayers");
      Method factors = layers.getDeclaredMethod("factors", String.class);
      factors.setAccessible(true);
      Object f = factors.invoke(null, shape);
      Method linalgOf = layers.getDeclaredMethod("linalg", String.class);
      linalgOf.setAccessible(true);
      Object linalg = linalgOf.invoke(null, "native");
      Class<?> lf = loader.loadClass("org.loraquant.codec.LoraFactors");
      Class<?> la = loader.loadClass("org.loraquant.linalg.LinearAlgebra");
      Class<?> cs = loader.loadClass("org.loraquant.codec.CodecSettings");
      Class<?> bs = loader.loadClass("org.loraquant.codec.BudgetSettings");
      java.lang.reflect.Field bits = loader.loadClass(
          "org.loraquant.codec.bench.BudgetModeBenchmark").getDeclaredField("BUDGET_BITS");
      bits.setAccessible(true);
      Object paperSettings = cs.getMethod("defaults").invoke(null);
      Object budgetSettings = bs.getMethod("of", double.class).invoke(null, bits.getDouble(null));
      Method paper = loader.loadClass("org.loraquant.codec.LoraQuantCodec")
          .getMethod("compress", lf, cs, la);
      Method budget = loader.loadClass("org.loraquant.codec.BudgetCodec")
          .getMethod("compress", List.class, bs, la);
      List<Object> one = List.of(f);
      return new Build(() -> invoke(paper, f, paperSettings, linalg),
          () -> invoke(budget, one, budgetSettings, linalg));
    }

    private static void invoke(Method m, Object... args) {
      try {
        m.invoke(null, args);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  public static void main(String[] args) throws Exception {
    String shape = args[2];
    int batches = Integer.parseInt(args[3]);
    Build[] builds = {Build.load(Path.of(args[0]), shape), Build.load(Path.of(args[1]), shape)};
    long warm = 0;
    while (warm < 4_000_000_000L) {
      for (Build b : builds) {
        warm += cpu(b.paper(), 1) + cpu(b.budget(), 1);
      }
    }
    double[][] paperMs = new double[2][batches];
    double[][] budgetMs = new double[2][batches];
    double[][] budgetMb = new double[2][batches];
    long thread = Thread.currentThread().getId();
    for (int i = 0; i < batches; i++) {
      for (int s = 0; s < 2; s++) {
        int b = i % 2 == 0 ? s : 1 - s;
        paperMs[b][i] = cpu(builds[b].paper(), 4) / 4e6;
        long allocated = THREADS.getThreadAllocatedBytes(thread);
        budgetMs[b][i] = cpu(builds[b].budget(), 1) / 1e6;
        budgetMb[b][i] = (THREADS.getThreadAllocatedBytes(thread) - allocated) / 1e6;
      }
    }
    System.out.printf("%s, %d batches, medians%n", shape, batches);
    double[][] ratio = new double[2][batches];
    for (int b = 0; b < 2; b++) {
      for (int i = 0; i < batches; i++) {
        ratio[b][i] = budgetMs[b][i] / paperMs[b][i];
      }
      System.out.printf("%-6s paper %.2f ms, budget %.2f ms, budget/paper %.2f, budget allocates"
          + " %.2f MB%n", b == 0 ? "before" : "after", median(paperMs[b]), median(budgetMs[b]),
          median(ratio[b]), median(budgetMb[b]));
    }
    double[] time = new double[batches];
    double[] ratioChange = new double[batches];
    for (int i = 0; i < batches; i++) {
      time[i] = budgetMs[1][i] / budgetMs[0][i];
      ratioChange[i] = ratio[1][i] / ratio[0][i];
    }
    System.out.printf("after/before, per batch: budget time %.3f, budget/paper %.3f%n",
        median(time), median(ratioChange));
  }

  private static double median(double[] x) {
    double[] sorted = x.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static long cpu(Runnable r, int times) {
    long start = THREADS.getCurrentThreadCpuTime();
    for (int i = 0; i < times; i++) {
      r.run();
    }
    return THREADS.getCurrentThreadCpuTime() - start;
  }
}
