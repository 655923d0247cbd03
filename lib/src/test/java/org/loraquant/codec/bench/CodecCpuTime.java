package org.loraquant.codec.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.LoraQuantCodec;
import org.loraquant.linalg.DenseReferenceSvd;
import org.loraquant.linalg.LinearAlgebra;

/**
 * Per-core cost of the codec as thread CPU time (JNI LAPACK calls included, with one BLAS
 * thread), next to the JMH wall-clock figures: on a shared machine wall time also counts the time
 * other processes hold the core. Arguments: shapes, then optionally {@code --dense} to time one
 * dense SVD per shape and backend as well. Run by bin/bench-codec.
 */
public final class CodecCpuTime {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private CodecCpuTime() {}

  public static void main(String[] args) {
    boolean dense = false;
    java.util.List<String> shapes = new java.util.ArrayList<>();
    for (String arg : args) {
      if (arg.equals("--dense")) {
        dense = true;
      } else {
        shapes.add(arg);
      }
    }
    CodecSettings settings = CodecSettings.defaults();
    System.out.printf("%-16s %-7s %14s %12s %18s %10s%n", "shape", "lapack", "codec cpu ms",
        "MB/s/core", "dense cpu ms", "ratio");
    for (String lapack : new String[] {"native", "java"}) {
      if (lapack.equals("native") && !LinearAlgebra.nativeAvailable()) {
        System.out.println("native LAPACK not available: skipped");
        continue;
      }
      LinearAlgebra linalg = BenchmarkLayers.linalg(lapack);
      for (String shape : shapes) {
        LoraFactors f = BenchmarkLayers.factors(shape);
        // Warm up (JIT) for 3 s of CPU, then measure about 2 s of work.
        long warm = 0;
        int done = 0;
        while (warm < 3_000_000_000L) {
          warm += cpu(() -> LoraQuantCodec.compress(f, settings, linalg), 1);
          done++;
        }
        int reps = (int) Math.max(5, 2 * (long) done / 3);
        double codecMs = cpu(() -> LoraQuantCodec.compress(f, settings, linalg), reps) / 1e6 / reps;
        double mbs = (double) (f.m() + f.n()) * f.r() * 2 / (codecMs / 1000) / 1e6;
        String denseMs = "-";
        String ratio = "-";
        if (dense) {
          double[] b = new double[f.m() * f.r()];
          for (int i = 0; i < f.m(); i++) {
            for (int j = 0; j < f.r(); j++) {
              b[j * f.m() + i] = f.b()[i * f.r() + j];
            }
          }
          double[] at = new double[f.a().length];
          for (int i = 0; i < at.length; i++) {
            at[i] = f.a()[i];
          }
          DenseReferenceSvd svd = new DenseReferenceSvd(linalg);
          double ms = cpu(() -> svd.decompose(f.m(), f.n(), f.r(), b, at), 1) / 1e6;
          denseMs = String.format("%.0f", ms);
          ratio = String.format("%.0f", ms / codecMs);
        }
        System.out.printf("%-16s %-7s %14.3f %12.1f %18s %10s%n", shape, lapack, codecMs, mbs,
            denseMs, ratio);
      }
    }
  }

  private static long cpu(Runnable work, int reps) {
    long start = THREADS.getCurrentThreadCpuTime();
    for (int i = 0; i < reps; i++) {
      work.run();
    }
    return THREADS.getCurrentThreadCpuTime() - start;
  }
}
