package org.loraquant.codec;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;

/**
 * Thread CPU time of {@link LloydMaxCoder#encode} per value (codes, fit and values), groups of
 * 128, at 2..6 bits: the best of 10 batches, three rounds (the last is the figure). Arguments:
 * passes over the data per width and round (default 30) and the number of distinct 4096-value
 * Gaussian vectors the passes cover (default 32, as many values as a 4096 x 4096 rank-16 layer's
 * B' and A'). docs/BENCHMARKS.md, "Budget mode", "Fourth pass".
 *
 * <p>The data must not be one short vector coded again and again: the CPU's branch predictor
 * then learns the data's branch outcomes and hides every mispredicted branch (while the coder
 * compared with branches, one 4096-value vector timed 5.4 ns per value at 2 bits where the codec,
 * coding each vector once per width, spent about 16).
 */
public final class LloydMaxCoderCpuTime {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  public static void main(String[] args) {
    int passes = Integer.parseInt(args.length > 0 ? args[0] : "30");
    int vectors = Integer.parseInt(args.length > 1 ? args[1] : "32");
    Random random = new Random(1);
    int len = 4096 * vectors;
    double[] x = new double[len];
    for (int i = 0; i < len; i++) {
      x[i] = 0.01 * random.nextGaussian();
    }
    byte[] codes = new byte[len];
    double[] recon = new double[len];
    LloydMaxCoder coder = new LloydMaxCoder(128);
    for (int round = 0; round < 3; round++) {
      StringBuilder line = new StringBuilder("round " + round + ":");
      for (int bits = 2; bits <= 8; bits++) {
        long best = Long.MAX_VALUE;
        for (int batch = 0; batch < 10; batch++) {
          long t0 = THREADS.getCurrentThreadCpuTime();
          for (int pass = 0; pass < passes / 10; pass++) {
            for (int g = 0; g < len; g += 128) {
              coder.encode(x, g, 128, bits, codes, g, recon, g);
            }
          }
          best = Math.min(best, THREADS.getCurrentThreadCpuTime() - t0);
        }
        line.append(String.format("  %d bits %.2f ns/value", bits,
            best / (double) (passes / 10) / len));
      }
      System.out.println(line);
    }
  }
}
