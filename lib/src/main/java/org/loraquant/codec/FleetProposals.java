package org.loraquant.codec;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One round of the fleet's leftover pass as an aggregation (docs/ALGORITHM.md, "Fleet budget"):
 * every component proposes its best width change that lowers the error and fits in the bits left
 * (the largest weighted error cut per extra bit, as {@link BitAllocator}'s greedy pass), and the
 * best {@code limit} proposals of the fleet are kept. A proposal's extra bits are exact for that
 * change alone (the layer's record count, {@link FleetLayer#storedBits}), so the allocator takes
 * at most one change per layer per pass. {@link #of} maps one layer, {@link #plus}
 * merges two lists; the order is total (ratio, then adapter, module, component, width), so any
 * split of the layers keeps the same proposals.
 */
public final class FleetProposals implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Component {@code component} of the layer {@code adapter:module} from width {@code from} to {@code to}. */
  public record Upgrade(String adapter, String module, int component, int from, int to,
      long extraBits, double gain) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Weighted error cut per extra bit; infinite for a change that costs no bits. */
    public double ratio() {
      return extraBits <= 0 ? Double.POSITIVE_INFINITY : gain / extraBits;
    }

    String key() {
      return adapter + '\u0000' + module;
    }
  }

  /** Best first; ties by adapter, module, component and width, so the order is total. */
  static final Comparator<Upgrade> ORDER = Comparator.comparingDouble(Upgrade::ratio).reversed()
      .thenComparing(Upgrade::adapter).thenComparing(Upgrade::module)
      .thenComparingInt(Upgrade::component).thenComparingInt(Upgrade::to);

  private final int limit;
  private final List<Upgrade> best;

  private FleetProposals(int limit, List<Upgrade> best) {
    this.limit = limit;
    this.best = best;
  }

  public static FleetProposals empty(int limit) {
    return new FleetProposals(limit, List.of());
  }

  /** The layer's proposals at its widths in {@code current}, each fitting in {@code leftBits}. */
  public static FleetProposals of(FleetLayer layer, FleetAllocation current, long leftBits,
      int limit) {
    int[] widths = current.widths(layer);
    double weight = current.weightOf(layer);
    long widthSum = 0;
    for (int w : widths) {
      widthSum += w;
    }
    List<Upgrade> found = new ArrayList<>();
    for (int i = 0; i < widths.length; i++) {
      int now = widths[i];
      Upgrade pick = null;
      for (int w = layer.minWidth(i); w <= layer.maxWidth(i); w++) {
        double gain = weight * (layer.distortion(i, now) - layer.distortion(i, w));
        if (w == now || !(gain > 0)) {
          continue;
        }
        long extra = layer.extraBits(widthSum, now, w); // exact: the codes' padding may change
        if (extra > leftBits) {
          continue;
        }
        Upgrade candidate = new Upgrade(layer.adapter(), layer.module(), i, now, w, extra, gain);
        if (pick == null || candidate.ratio() > pick.ratio()) {
          pick = candidate;
        }
      }
      if (pick != null) {
        found.add(pick);
      }
    }
    return new FleetProposals(limit, top(found, limit));
  }

  public FleetProposals plus(FleetProposals other) {
    List<Upgrade> all = new ArrayList<>(best);
    all.addAll(other.best);
    return new FleetProposals(limit, top(all, limit));
  }

  private static List<Upgrade> top(List<Upgrade> upgrades, int limit) {
    upgrades.sort(ORDER);
    return List.copyOf(upgrades.subList(0, Math.min(limit, upgrades.size())));
  }

  /** The kept proposals, best first. */
  public List<Upgrade> best() {
    return best;
  }
}
