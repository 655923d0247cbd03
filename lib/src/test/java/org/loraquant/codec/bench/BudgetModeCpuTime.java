package org.loraquant.codec.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.List;
import org.loraquant.codec.BudgetCodec;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.LoraQuantCodec;
import org.loraquant.linalg.LinearAlgebra;

/**
 * The budget mode against the paper mode per layer in thread CPU time, native LAPACK, one BLAS
 * thread: after a warm-up, short batches of each mode alternate (so both see the same
 * neighbours), and the medians and their ratio are printed. Arguments: shapes. Run by
 * bin/bench-codec with BENCH_BUDGET=1.
 */
public final class BudgetModeCpuTime {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final int BATCHES = 40;

  private BudgetModeCpuTime() {}

  public static void main(String[] args) {
    LinearAlgebra linalg = BenchmarkLayers.linalg("native");
    CodecSettings paper = CodecSettings.defaults();
    BudgetSettings budget = BudgetSettings.of(BudgetModeBenchmark.BUDGET_BITS);
    // Every shape is warmed up before any is timed: with one shape's warm-up only, the first
    // shape timed ran the budget mode 3x slower in some JVMs than the same shape timed later.
    for (String shape : args) {
      LoraFactors f = BenchmarkLayers.factors(shape);
      long warm = 0;
      while (warm < 2_000_000_000L) {
        warm += cpu(() -> LoraQuantCodec.compress(f, paper, linalg), 1)
            + cpu(() -> BudgetCodec.compress(List.of(f), budget, linalg), 1);
      }
    }
    System.out.printf("%-16s %14s %15s %8s%n", "shape", "paper ms", "budget ms", "ratio");
    for (String shape : args) {
      LoraFactors f = BenchmarkLayers.factors(shape);
      Runnable p = () -> LoraQuantCodec.compress(f, paper, linalg);
      Runnable b = () -> BudgetCodec.compress(List.of(f), budget, linalg);
      double[] paperMs = new double[BATCHES];
      double[] budgetMs = new double[BATCHES];
      for (int i = 0; i < BATCHES; i++) {
        paperMs[i] = cpu(p, 4) / 4e6;
        budgetMs[i] = cpu(b, 1) / 1e6;
      }
      Arrays.sort(paperMs);
      Arrays.sort(budgetMs);
      double pm = paperMs[BATCHES / 2];
      double bm = budgetMs[BATCHES / 2];
      System.out.printf("%-16s %14.2f %15.2f %8.1f%n", shape, pm, bm, bm / pm);
    }
  }

  private static long cpu(Runnable r, int times) {
    long start = THREADS.getCurrentThreadCpuTime();
    for (int i = 0; i < times; i++) {
      r.run();
    }
    return THREADS.getCurrentThreadCpuTime() - start;
  }
}
