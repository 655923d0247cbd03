package org.loraquant.codec;

import java.util.Random;

/**
 * Thread CPU time of {@link LloydMaxCoder#encode} per value (both scale candidates), one 4096-value
 * Gaussian vector in groups of 128, at 2..6 bits: the best of 10 batches, three rounds (the last
 * is the figure). Argument: passes over the vector per width and round (default 3000). docs/BENCHMARKS.md,
 * "Budget mode", "Third pass".
 */
public final class LloydMaxCoderCpuTime {
  public static void main(String[] args) {
    Random random = new Random(1);
    int len = 4096;
    double[] x = new double[len];
    for (int i = 0; i < len; i++) {
      x[i] = 0.01 * random.nextGaussian();
    }
    byte[] codes = new byte[len];
    double[] recon = new double[len];
    LloydMaxCoder coder = new LloydMaxCoder(128);
    int reps = Integer.parseInt(args.length > 0 ? args[0] : "3000");
    for (int round = 0; round < 3; round++) {
      StringBuilder line = new StringBuilder("round " + round + ":");
      for (int bits = 2; bits <= 6; bits++) {
        long best = Long.MAX_VALUE;
        for (int batch = 0; batch < 10; batch++) {
          long t0 = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
          for (int rep = 0; rep < reps / 10; rep++) {
            for (int g = 0; g < len; g += 128) {
              coder.encode(x, g, 128, bits, codes, g, recon, g);
            }
          }
          best = Math.min(best, java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - t0);
        }
        line.append(String.format("  %d bits %.2f ns/value", bits, best / (double) (reps / 10) / len));
      }
      System.out.println(line);
    }
  }
}
