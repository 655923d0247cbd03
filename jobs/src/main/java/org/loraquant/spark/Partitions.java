package org.loraquant.spark;

/** How many partitions the driver gives a small list it parallelizes. */
final class Partitions {
  private Partitions() {}

  /** One per item, at most four per core, at least one. */
  static int slices(int items, int parallelism) {
    return Math.max(1, Math.min(items, 4 * parallelism));
  }
}
