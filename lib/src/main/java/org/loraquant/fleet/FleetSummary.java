package org.loraquant.fleet;

import java.util.List;

/** What {@link FleetGenerator#generate} wrote. */
public record FleetSummary(String root, List<Adapter> adapters) {

  /** One adapter written: its folder relative to the root, its LoRA layers and total file bytes. */
  public record Adapter(String relativePath, int layers, long bytes) {}

  public FleetSummary {
    adapters = List.copyOf(adapters);
  }

  public long totalBytes() {
    return adapters.stream().mapToLong(Adapter::bytes).sum();
  }

  public int totalLayers() {
    return adapters.stream().mapToInt(Adapter::layers).sum();
  }
}
