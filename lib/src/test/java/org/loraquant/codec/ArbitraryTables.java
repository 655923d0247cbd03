package org.loraquant.codec;

import java.util.Random;

/**
 * Rate-distortion tables with arbitrary (even non-monotone) errors, for the allocators' properties
 * that hold for any table: 100 parameters, errors falling roughly 0.3x per width, and the cost of
 * each width a per-bit price plus side bits, all drawn from the caller's seeded {@link Random}.
 */
final class ArbitraryTables {
  private ArbitraryTables() {}

  /**
   * The next table of {@code random}: {@code fewestComponents} or one more components, the first
   * with 3 to {@code 2 + widthsDrawn} widths measured, the others 1 to {@code widthsDrawn}.
   */
  static RateDistortionTable next(Random random, int fewestComponents, int widthsDrawn) {
    int k = fewestComponents + random.nextInt(2);
    double[][] d = new double[k][];
    for (int i = 0; i < k; i++) {
      d[i] = new double[(i == 0 ? 3 : 1) + random.nextInt(widthsDrawn)];
      for (int w = 0; w < d[i].length; w++) {
        d[i][w] = random.nextDouble() * Math.pow(0.3, w);
      }
    }
    long[] cost = new long[9];
    int perBit = 10 + random.nextInt(50);
    int side = random.nextInt(40);
    cost[0] = 8;
    for (int w = 1; w <= 8; w++) {
      cost[w] = 8 + side + (long) w * perBit;
    }
    return new RateDistortionTable(100, 1, d, cost);
  }
}
