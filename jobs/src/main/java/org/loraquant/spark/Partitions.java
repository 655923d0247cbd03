package org.loraquant.spark;

/** How many partitions the driver gives a small list it parallelizes. */
final class Partitions {
  private Partitions() {}

  /** One per item, at most four per core, at least one. */
  static int slices(int items, int parallelism) {
    return Math.max(1, Math.min(items, 4 * parallelism));
  }

  /**
   * For work that waits on storage and runs {@code storageThreads} items of a task at once
   * (opening, writing): enough items a task to fill its threads, but never fewer tasks than cores
   * (when there are that many items) nor more than {@link #slices(int, int)}. One thread: as
   * {@link #slices(int, int)}.
   */
  static int slices(int items, int parallelism, int storageThreads) {
    int filled = (items + storageThreads - 1) / Math.max(1, storageThreads);
    return Math.max(1, Math.min(slices(items, parallelism), Math.max(filled, parallelism)));
  }
}
