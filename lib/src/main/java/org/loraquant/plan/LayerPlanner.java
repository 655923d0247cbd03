package org.loraquant.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;

/**
 * Spreads LoRA layers over tasks so that tasks carry similar bytes, whatever the adapter sizes,
 * while keeping each adapter's layers together: on object storage a task pays a request for every
 * separate byte range it reads, so an adapter's layers belong in one task, where they are read as
 * one contiguous range, not scattered one per task.
 *
 * <p>Two steps. First each adapter becomes one piece, unless it is too big for one task: then it is
 * cut along its file order into contiguous runs of layers, as few as needed and of about equal
 * bytes. "Too big" means more than {@code maxLayersPerTask} layers, or more bytes than the smaller
 * of {@code maxBytesPerTask} and a fair share of the whole (total bytes / {@code targetTasks}): one
 * adapter 50 times larger than the rest is still shared out, not handed to one straggler task.
 * Second, greedy bin packing of the pieces, largest first (LPT): each goes into the currently
 * lightest task, so small adapters are packed several to a task. With the number of tasks fixed
 * this is within 4/3 of the best largest task for these pieces; a layer is never split, so no plan
 * beats the largest single layer either.
 *
 * <p>Bounds: a task holds at most {@code maxLayersPerTask} layers and, unless it holds a single
 * layer larger than that, at most {@code maxBytesPerTask} bytes; when the lightest task cannot take
 * a piece a new task is opened. This bounds what one task reads and holds. The starting number of
 * tasks is the larger of {@code targetTasks} (say 3 per executor core, so a slow node evens out) and
 * what the bounds require for the total.
 *
 * <p>Small fleets are not over-split: no adapter is cut into pieces smaller than {@code
 * minPieceBytes}, and the starting number of tasks is at most the total over {@code minPieceBytes}
 * (never fewer than the bounds require). Below that size a piece of its own costs more (a Spark
 * task, and on object storage a request per piece) than spreading it gains: at some 300 MB/s per
 * core the codec does 4 MB in about 13 ms, the cost of one request to S3.
 *
 * <p>Deterministic: ties are broken by adapter and position; task ids follow creation order.
 */
public final class LayerPlanner {
  /** An adapter's layers in file order: by position, then module name (equal positions). */
  public static final Comparator<LayerWork> FILE_ORDER =
      Comparator.comparing(LayerWork::adapter)
          .thenComparingLong(LayerWork::position)
          .thenComparing(LayerWork::module);

  /** The job's {@code minPieceBytes}: see the class comment. */
  public static final long DEFAULT_MIN_PIECE_BYTES = 4L << 20;

  private final int targetTasks;
  private final int maxLayersPerTask;
  private final long maxBytesPerTask;
  private final long minPieceBytes;

  /** Without a minimum piece size: adapters are cut as finely as the fair share asks. */
  public LayerPlanner(int targetTasks, int maxLayersPerTask, long maxBytesPerTask) {
    this(targetTasks, maxLayersPerTask, maxBytesPerTask, 1);
  }

  public LayerPlanner(
      int targetTasks, int maxLayersPerTask, long maxBytesPerTask, long minPieceBytes) {
    if (minPieceBytes < 1) {
      throw new IllegalArgumentException("minPieceBytes must be positive, got " + minPieceBytes);
    }
    this.minPieceBytes = minPieceBytes;
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

  /**
   * The tasks for {@code layers}; none is empty, every layer is in exactly one, and the layers of
   * one adapter in one task are a contiguous run of its file order.
   */
  public List<LayerTask> plan(List<LayerWork> layers) {
    return plan(layers, true);
  }

  /**
   * As {@link #plan}, but no adapter is cut: each is one piece, packed with the others as {@link
   * #plan} packs them, several small ones to a task; an adapter over a task's bounds has a task of
   * its own. For the budget mode's scope {@code adapter}, which encodes whole adapters.
   */
  public List<LayerTask> planWholeAdapters(List<LayerWork> layers) {
    return plan(layers, false);
  }

  private List<LayerTask> plan(List<LayerWork> layers, boolean cutAdapters) {
    long total = layers.stream().mapToLong(LayerWork::bytes).sum();
    int targetTasks = (int) Math.min(this.targetTasks, Math.max(1, ceilDiv(total, minPieceBytes)));
    long fairShare = Math.max(1, ceilDiv(total, targetTasks));
    long cap =
        cutAdapters ? Math.min(maxBytesPerTask, Math.max(minPieceBytes, fairShare)) : Long.MAX_VALUE;
    List<Piece> pieces = pieces(layers, cap, cutAdapters);
    pieces.sort(
        Comparator.comparingLong((Piece p) -> p.bytes)
            .reversed()
            .thenComparing(p -> p.layers.get(0), FILE_ORDER));
    long needed =
        Math.max(ceilDiv(total, maxBytesPerTask), ceilDiv(layers.size(), maxLayersPerTask));
    int initial = (int) Math.min(pieces.size(), Math.max(targetTasks, needed));

    List<Bin> bins = new ArrayList<>();
    PriorityQueue<Bin> lightest =
        new PriorityQueue<>(
            Comparator.comparingLong((Bin b) -> b.bytes).thenComparingInt(b -> b.id));
    for (int i = 0; i < initial; i++) {
      Bin bin = new Bin(bins.size());
      bins.add(bin);
      lightest.add(bin);
    }
    for (Piece piece : pieces) {
      Bin bin = takeLightestFitting(lightest, piece);
      if (bin == null) {
        bin = new Bin(bins.size());
        bins.add(bin);
      }
      bin.layers.addAll(piece.layers);
      bin.bytes += piece.bytes;
      lightest.add(bin);
    }

    List<LayerTask> tasks = new ArrayList<>();
    for (Bin bin : bins) {
      if (!bin.layers.isEmpty()) {
        bin.layers.sort(FILE_ORDER);
        tasks.add(new LayerTask(tasks.size(), bin.layers, bin.bytes));
      }
    }
    return tasks;
  }

  /**
   * The lightest bin that can take {@code piece}, removed from the queue, or null (the caller opens
   * a new one). Bins full of layers are dropped for good; one the piece would overflow in bytes is
   * the lightest, so the piece would overflow them all.
   */
  private Bin takeLightestFitting(PriorityQueue<Bin> lightest, Piece piece) {
    List<Bin> tooManyLayers = new ArrayList<>();
    Bin found = null;
    while (!lightest.isEmpty()) {
      Bin bin = lightest.poll();
      if (bin.layers.size() >= maxLayersPerTask) {
        continue; // full for good
      }
      if (bin.layers.size() + piece.layers.size() > maxLayersPerTask) {
        tooManyLayers.add(bin); // may take a smaller piece later
        continue;
      }
      if (!bin.layers.isEmpty() && bin.bytes + piece.bytes > maxBytesPerTask) {
        lightest.add(bin);
        break;
      }
      found = bin;
      break;
    }
    lightest.addAll(tooManyLayers);
    return found;
  }

  /**
   * Each adapter whole, or (if {@code cut}) cut into contiguous runs when it exceeds {@code cap} or
   * the layers.
   */
  private List<Piece> pieces(List<LayerWork> layers, long cap, boolean cut) {
    Map<String, List<LayerWork>> byAdapter = new TreeMap<>();
    for (LayerWork layer : layers) {
      byAdapter.computeIfAbsent(layer.adapter(), a -> new ArrayList<>()).add(layer);
    }
    List<Piece> pieces = new ArrayList<>();
    for (List<LayerWork> adapter : byAdapter.values()) {
      adapter.sort(FILE_ORDER);
      long bytes = adapter.stream().mapToLong(LayerWork::bytes).sum();
      long count =
          cut ? Math.max(ceilDiv(bytes, cap), ceilDiv(adapter.size(), maxLayersPerTask)) : 1;
      double share = (double) bytes / Math.max(1, count);
      Piece piece = new Piece();
      long before = 0; // bytes of the adapter's layers before this one
      int closed = 0;
      for (LayerWork layer : adapter) {
        // A layer goes to the next piece when its middle lies past this piece's share of the
        // adapter, or when it would break a hard bound; so pieces come out nearly equal.
        boolean pastShare = before + layer.bytes() / 2.0 > share * (closed + 1);
        boolean overBound =
            cut && (piece.bytes + layer.bytes() > cap || piece.layers.size() >= maxLayersPerTask);
        if (!piece.layers.isEmpty() && (pastShare || overBound)) {
          pieces.add(piece);
          piece = new Piece();
          closed++;
        }
        piece.layers.add(layer);
        piece.bytes += layer.bytes();
        before += layer.bytes();
      }
      pieces.add(piece);
    }
    return pieces;
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  private static final class Piece {
    final List<LayerWork> layers = new ArrayList<>();
    long bytes;
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
