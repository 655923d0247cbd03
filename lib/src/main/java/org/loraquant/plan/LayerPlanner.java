package org.loraquant.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Spreads LoRA layers over tasks so that tasks carry similar bytes, whatever the adapter sizes: one
 * adapter 50 times larger than the rest is cut into its layers and shared out, not handed to one
 * straggler task.
 *
 * <p>Greedy bin packing, largest layer first (LPT): each layer goes into the currently lightest
 * task. With the number of tasks fixed this is within 4/3 of the best possible largest task; a
 * layer is never split, so no plan beats the largest single layer either.
 *
 * <p>Bounds: a task holds at most {@code maxLayersPerTask} layers and, unless it holds a single
 * layer larger than that, at most {@code maxBytesPerTask} bytes; when the lightest task cannot take
 * a layer a new task is opened. This bounds what one executor holds (layers are compressed one at a
 * time, but their outputs wait in the task until it ends). The starting number of tasks is the
 * larger of {@code targetTasks} (say 3 per executor core, so a slow node evens out) and what the
 * bounds require for the total.
 *
 * <p>Deterministic: ties are broken by adapter and module, task ids follow creation order.
 */
public final class LayerPlanner {
  private final int targetTasks;
  private final int maxLayersPerTask;
  private final long maxBytesPerTask;

  public LayerPlanner(int targetTasks, int maxLayersPerTask, long maxBytesPerTask) {
    if (targetTasks < 1 || maxLayersPerTask < 1 || maxBytesPerTask < 1) {
      throw new IllegalArgumentException(
          "targetTasks, maxLayersPerTask and maxBytesPerTask must be"
              + " positive, got "
              + targetTasks
              + ", "
              + maxLayersPerTask
              + ", "
              + maxBytesPerTask);
    }
    this.targetTasks = targetTasks;
    this.maxLayersPerTask = maxLayersPerTask;
    this.maxBytesPerTask = maxBytesPerTask;
  }

  /** The tasks for {@code layers}; none is empty, every layer is in exactly one. */
  public List<LayerTask> plan(List<LayerWork> layers) {
    List<LayerWork> largestFirst = new ArrayList<>(layers);
    largestFirst.sort(
        Comparator.comparingLong(LayerWork::bytes)
            .reversed()
            .thenComparing(LayerWork::adapter)
            .thenComparing(LayerWork::module));
    long total = layers.stream().mapToLong(LayerWork::bytes).sum();
    long needed =
        Math.max(ceilDiv(total, maxBytesPerTask), ceilDiv(layers.size(), maxLayersPerTask));
    int initial = (int) Math.min(layers.size(), Math.max(targetTasks, needed));

    List<Bin> bins = new ArrayList<>();
    PriorityQueue<Bin> lightest =
        new PriorityQueue<>(
            Comparator.comparingLong((Bin b) -> b.bytes).thenComparingInt(b -> b.id));
    for (int i = 0; i < initial; i++) {
      Bin bin = new Bin(bins.size());
      bins.add(bin);
      lightest.add(bin);
    }
    for (LayerWork layer : largestFirst) {
      Bin bin = lightest.poll();
      // A full bin never takes another layer: drop it from the queue for good.
      while (bin != null && bin.layers.size() >= maxLayersPerTask) {
        bin = lightest.poll();
      }
      // The lightest bin is the only candidate: if the layer overflows it, it overflows them all.
      if (bin != null && !bin.layers.isEmpty() && bin.bytes + layer.bytes() > maxBytesPerTask) {
        lightest.add(bin);
        bin = null;
      }
      if (bin == null) {
        bin = new Bin(bins.size());
        bins.add(bin);
      }
      bin.layers.add(layer);
      bin.bytes += layer.bytes();
      lightest.add(bin);
    }

    List<LayerTask> tasks = new ArrayList<>();
    for (Bin bin : bins) {
      if (!bin.layers.isEmpty()) {
        bin.layers.sort(Comparator.comparing(LayerWork::adapter).thenComparing(LayerWork::module));
        tasks.add(new LayerTask(tasks.size(), bin.layers, bin.bytes));
      }
    }
    return tasks;
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  private static final class Bin {
    final int id;
    final List<LayerWork> layers = new ArrayList<>();
    long bytes;

    Bin(int id) {
      this.id = id;
    }
  }
}
