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
 * other processes hold the core. CPU time is not immune either (neighbours on the host slow the
 * caches and memory for minutes at a time), so the layers are timed in short batches (about 20 ms
 * each, for about 4 s) and the table gives the median batch, with the fastest batch beside it.
 * Arguments: shapes, then optionally {@code --dense} to time one dense SVD per shape and backend
 * as well. Run by bin/bench-codec.
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
    System.out.printf("%-16s %-7s %16s %12s %14s %18s %10s%n", "shape", "lapack",
        "codec median ms", "MB/s/core", "fastest ms", "dense cpu ms", "ratio");
    for (String lapack : new String[] {"native", "java"}) {
      if (lapack.equals("native") && !LinearAlgebra.nativeAvailable()) {
        System.out.println("native LAPACK not available: skipped");
        continue;
      }
      LinearAlgebra linalg = BenchmarkLayers.linalg(lapack);
      for (String shape : shapes) {
        LoraFactors f = BenchmarkLayers.factors(shape);
        // Warm up (JIT) for 3 s of CPU, then time batches of about 20 ms for about 4 s.
        long warm = 0;
        int done = 0;
        while (warm < 3_000_000_000L) {
          warm += cpu(() -> LoraQuantCodec.compress(f, settings, linalg), 1);
          done++;
        }
        int perBatch = (int) Math.max(1, done / 150);
        int batches = 200;
        double[] msPerLayer = new double[batches];
        for (int b = 0; b < batches; b++) {
          msPerLayer[b] =
              cpu(() -> LoraQuantCodec.compress(f, settings, linalg), perBatch) / 1e6 / perBatch;
        }
        java.util.Arrays.sort(msPerLayer);
        double codecMs = msPerLayer[batches / 2];
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
        System.out.printf("%-16s %-7s %16.3f %12.1f %14.3f %18s %10s%n", shape, lapack, codecMs,
            mbs, msPerLayer[0], denseMs, ratio);
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
