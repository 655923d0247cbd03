package org.loraquant.stats;

import java.io.Serializable;
import java.time.Instant;
import java.util.List;
import org.loraquant.hadoop.StorageRequests;

/**
 * What happened to one adapter this run, as its {@code adapters} row and {@code layers} rows report
 * it.
 *
 * @param message null for COMPRESSED
 * @param layers the compressed layers' figures; empty unless COMPRESSED, and empty in the copies
 *     the driver collects ({@link #withoutLayers}): the layer rows are written from the executors
 * @param totals the layers summed up; null unless COMPRESSED
 * @param bytesOut size of the written output folder; 0 unless COMPRESSED
 * @param fixedFileBytes of those, the config and manifest files; 0 unless COMPRESSED
 * @param seconds time spent on the adapter: its layers plus assembly and write
 * @param finishedAt when the output was committed, or the decision made
 * @param requests what the adapter cost in storage requests this run: opening, its layers' reads,
 *     the change check (where reads were not pinned) and writing its output
 */
public record AdapterOutcome(
    String adapter,
    AdapterStatus status,
    String message,
    List<LayerFigures> layers,
    AdapterTotals totals,
    long bytesOut,
    long fixedFileBytes,
    double seconds,
    Instant finishedAt,
    StorageRequests requests)
    implements Serializable {
  private static final long serialVersionUID = 3L;

  public AdapterOutcome {
    layers = List.copyOf(layers);
  }

  public static AdapterOutcome compressed(
      String adapter,
      List<LayerFigures> layers,
      long bytesOut,
      long fixedFileBytes,
      double seconds,
      Instant finishedAt) {
    return new AdapterOutcome(
        adapter,
        AdapterStatus.COMPRESSED,
        null,
        layers,
        AdapterTotals.of(layers),
        bytesOut,
        fixedFileBytes,
        seconds,
        finishedAt,
        StorageRequests.NONE);
  }

  public static AdapterOutcome notCompressed(
      String adapter, AdapterStatus status, String message, double seconds) {
    return new AdapterOutcome(
        adapter, status, message, List.of(), null, 0, 0, seconds, Instant.now(),
        StorageRequests.NONE);
  }

  /** This outcome without its layer reports (its totals stay): what the driver needs. */
  public AdapterOutcome withoutLayers() {
    return new AdapterOutcome(
        adapter, status, message, List.of(), totals, bytesOut, fixedFileBytes, seconds, finishedAt,
        requests);
  }

  /** This outcome with {@code more} requests added to its count. */
  public AdapterOutcome plusRequests(StorageRequests more) {
    return new AdapterOutcome(
        adapter,
        status,
        message,
        layers,
        totals,
        bytesOut,
        fixedFileBytes,
        seconds,
        finishedAt,
        requests.plus(more));
  }
}
