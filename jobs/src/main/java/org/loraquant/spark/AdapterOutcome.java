package org.loraquant.spark;

import java.io.Serializable;
import java.time.Instant;
import java.util.List;
import org.loraquant.compress.LayerReport;

/**
 * What happened to one adapter this run, as its {@code adapters} row and {@code layers} rows report
 * it.
 *
 * @param message null for COMPRESSED
 * @param layers the compressed layers' reports; empty unless COMPRESSED, and empty in the copies
 *     the driver collects ({@link #withoutLayers}): the layer rows are written from the executors
 * @param totals the layers summed up; null unless COMPRESSED
 * @param bytesOut size of the written output folder; 0 unless COMPRESSED
 * @param seconds time spent on the adapter: its layers plus assembly and write
 * @param finishedAt when the output was committed, or the decision made
 */
public record AdapterOutcome(
    String adapter,
    AdapterStatus status,
    String message,
    List<LayerReport> layers,
    AdapterTotals totals,
    long bytesOut,
    double seconds,
    Instant finishedAt)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public AdapterOutcome {
    layers = List.copyOf(layers);
  }

  static AdapterOutcome compressed(
      String adapter, List<LayerReport> layers, long bytesOut, double seconds, Instant finishedAt) {
    return new AdapterOutcome(
        adapter,
        AdapterStatus.COMPRESSED,
        null,
        layers,
        AdapterTotals.of(layers),
        bytesOut,
        seconds,
        finishedAt);
  }

  static AdapterOutcome notCompressed(
      String adapter, AdapterStatus status, String message, double seconds) {
    return new AdapterOutcome(
        adapter, status, message, List.of(), null, 0, seconds, Instant.now());
  }

  /** This outcome without its layer reports (its totals stay): what the driver needs. */
  AdapterOutcome withoutLayers() {
    return new AdapterOutcome(
        adapter, status, message, List.of(), totals, bytesOut, seconds, finishedAt);
  }
}
