package org.loraquant.codec;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.loraquant.linalg.LinearAlgebra;

/**
 * Seeded fleets of measured layers for the fleet allocator's tests: adapters of mixed ranks,
 * shapes, spectra (flat Gaussian or decaying) and magnitudes (updates up to 30x larger than
 * others), or, with {@code mixed} false, adapters all drawn alike.
 */
final class GeneratedFleetTables {
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();
  private static final int[] RANKS = {4, 8, 16, 32};
  private static final int[] DIMS = {64, 96, 128, 192};

  private GeneratedFleetTables() {}

  static List<FleetLayer> fleet(long seed, int adapters, int layersPerAdapter, boolean mixed) {
    Random random = new Random(seed);
    List<FleetLayer> layers = new ArrayList<>();
    for (int a = 0; a < adapters; a++) {
      int rank = mixed ? RANKS[random.nextInt(RANKS.length)] : 8;
      boolean decaying = mixed ? random.nextBoolean() : true;
      double scale = mixed ? Math.pow(30, random.nextDouble()) : 1;
      for (int l = 0; l < layersPerAdapter; l++) {
        int m = mixed ? DIMS[random.nextInt(DIMS.length)] : 96;
        int n = mixed ? DIMS[random.nextInt(DIMS.length)] : 96;
        LoraFactors f = decaying
            ? TestFactors.decaying(random.nextLong(), m, n, rank)
            : TestFactors.gaussian(random.nextLong(), m, n, rank);
        for (int i = 0; i < f.b().length; i++) {
          f.b()[i] *= (float) scale;
        }
        layers.add(FleetLayer.measure("adapter-" + a, "layer-" + l, f, LevelFamily.LLOYD_MAX,
            32, LINALG));
      }
    }
    return layers;
  }
}
