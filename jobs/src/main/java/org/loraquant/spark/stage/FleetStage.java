package org.loraquant.spark.stage;

import java.io.Serializable;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.StorageLevel;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.FleetAllocation;
import org.loraquant.codec.FleetAllocator;
import org.loraquant.codec.FleetLayer;
import org.loraquant.codec.FleetShare;
import org.loraquant.errors.FleetBudgetTooSmallException;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.options.UsageException;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import scala.Tuple2;
import org.loraquant.stats.AdapterTotals;

/**
 * The fleet scope of the budget mode in the job (issue 20; docs/ALGORITHM.md, "Fleet budget"):
 * the share of the budget the adapters to compress get ({@link FleetShare}) and the refusal of a
 * share below their smallest storable form, both from the headers; then the allocation over the
 * layer stage's measured layers ({@link SparkFleet}) and each layer's widths.
 *
 * <p>The input is read once: the layer stage measures each layer and the measurement (table and
 * the layer's factors, {@link org.loraquant.codec.MeasuredLayer}: about the input's own bytes)
 * stays persisted on the executors' disks (DISK_ONLY) until it is encoded at its widths
 * ({@link LayerStage#encodeMeasured}, which decomposes the factors again), never read again from
 * the input. Persisting the thin SVDs instead (doubles, four times a bfloat16 input) cost the
 * fleet scope more CPU and memory in writing and reading them back than the second
 * decomposition costs, and in memory (MEMORY_AND_DISK, _SER) they ran a task out of heap
 * (docs/BENCHMARKS.md).
 */
public final class FleetStage {
  private FleetStage() {}

  /** The widths of every layer (key {@link #key}) and the allocation they come from. */
  public record Widths(Map<String, int[]> byLayer, FleetAllocation allocation, FleetShare share) {}

  static String key(String adapter, String module) {
    return adapter + '\u0000' + module;
  }

  /**
   * The share of the budget left to the adapters to compress.
   *
   * @throws UsageException (exit 2, before any layer is read) when the unchanged adapters already
   *     store more than the fleet's budget
   */
  public static FleetShare share(BudgetSettings budget, Map<String, AdapterTotals> unchanged,
      Map<String, Long> toCompressParams, boolean force) {
    List<FleetShare.Member> members = new ArrayList<>();
    new TreeMap<>(unchanged).forEach((a, t) ->
        members.add(new FleetShare.Member(a, t.params(), true, t.tensorBits())));
    new TreeMap<>(toCompressParams).forEach((a, p) ->
        members.add(new FleetShare.Member(a, p, false, 0)));
    try {
      return FleetShare.of(members, budget.budgetBits(), force);
    } catch (FleetBudgetTooSmallException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /**
   * An opened adapter's layout from the header it carries (no reads), for {@link #params} and
   * {@link #smallestStorableBits}.
   */
  public static PeftAdapter layout(HadoopFileIO io, OpenedAdapter opened) {
    return PeftAdapterReader.reopen(opened, opened.weightsFile(io));
  }

  /** r (m + n) summed over the adapter's LoRA modules. */
  public static long params(PeftAdapter layout) {
    long params = 0;
    for (LoraModule m : layout.modules()) {
      params += m.params();
    }
    return params;
  }

  /**
   * The fewest bits the adapter's LoRA layers can be stored in (exactly what the fleet's records
   * store at their minimum), from its header's shapes: what the allocator would otherwise find
   * only after measuring.
   */
  public static long smallestStorableBits(PeftAdapter layout, BudgetSettings budget) {
    List<FleetLayer.Shape> shapes = new ArrayList<>();
    for (LoraModule m : layout.modules()) {
      shapes.add(new FleetLayer.Shape(m.m(), m.n(), m.rank()));
    }
    return FleetLayer.smallestStorableBits(shapes, budget.levels(), budget.groupSize());
  }

  /**
   * Refuses, before any layer is read, a share of the budget that cannot hold the smallest
   * storable form of the layers to compress ({@link #smallestStorableBits}, summed).
   *
   * @throws UsageException (exit 2) naming the budget, the shared bits and the minimum, and the
   *     smallest budget that would do
   */
  public static void requireSmallestForm(BudgetSettings budget, FleetShare share, long smallestBits,
      int layers) {
    if (smallestBits <= share.sharedBits()) {
      return;
    }
    // floor(B x params) - stored >= smallest, rounded up to 4 decimals as the flag takes it.
    BigDecimal least = share.params() == 0 ? BigDecimal.ZERO
        : BigDecimal.valueOf(smallestBits + share.storedBits())
            .divide(BigDecimal.valueOf(share.params()), 4, RoundingMode.CEILING);
    throw new UsageException(String.format(Locale.ROOT,
        "--budget %s --budget-scope fleet: the %d adapters to compress share %d bits of the"
            + " fleet's budget, %d bits short of the %d bits the smallest storable form of their"
            + " %d layers needs (side information and each layer's first component at 2 bits);"
            + " the smallest budget that fits is %s bits per parameter",
        BigDecimal.valueOf(budget.budgetBits()).stripTrailingZeros().toPlainString(),
        share.toCompress().size(), share.sharedBits(), smallestBits - share.sharedBits(),
        smallestBits, layers, least.stripTrailingZeros().toPlainString()));
  }

  /**
   * Allocates the shared bits over the measured layers ({@link LayerStage#compress} in scope
   * fleet; the caller persists them, DISK_ONLY, and keeps them until they are encoded) and
   * returns each layer's widths. A layer that could not be read or measured is a failed outcome
   * with its message; its adapter will not be written, so it takes no part at all: its other
   * layers' tables are left out and its parameters leave the budget ({@link FleetShare#without}),
   * and the others get what a run over them alone gets. The share returned is that one.
   *
   * @throws UsageException when the shared bits cannot hold the smallest storable form
   */
  public static Widths allocate(JavaRDD<LayerOutcome> measured, BudgetSettings budget, FleetShare share) {
    // Persisted: the allocator's 10 to 30 passes go over the tables only (k x 9 doubles a layer),
    // not over the persisted factors beside them. The first action (the failed adapters) is the
    // measuring pass.
    JavaRDD<Table> tables = measured.map(Table::of).persist(StorageLevel.MEMORY_AND_DISK());
    JavaRDD<FleetLayer> weighted = null;
    try {
      // A few names: the failed layers are the exception.
      Set<String> failed =
          new TreeSet<>(tables.filter(t -> t.layer() == null).map(Table::adapter).collect());
      FleetShare written;
      try {
        written = share.without(failed, budget.budgetBits());
      } catch (FleetBudgetTooSmallException e) {
        throw new UsageException(refusal(budget, failed) + e.getMessage());
      }
      JavaRDD<FleetLayer> kept =
          tables.filter(t -> t.layer() != null && !failed.contains(t.adapter())).map(Table::layer);
      weighted = SparkFleet.weighted(kept, budget.weight()).persist(StorageLevel.MEMORY_AND_DISK());
      FleetAllocation allocation;
      try {
        allocation = FleetAllocator.allocate(new SparkFleet(weighted), written.sharedBits(),
            budget.weight(), budget.budgetBits());
      } catch (FleetBudgetTooSmallException e) {
        throw new UsageException(refusal(budget, failed) + e.getMessage());
      }
      Map<String, int[]> widths =
          new TreeMap<>(
              weighted
                  .mapToPair(l -> new Tuple2<>(key(l.adapter(), l.module()), allocation.widths(l)))
                  .collectAsMap());
      return new Widths(widths, allocation, written);
    } finally {
      if (weighted != null) {
        weighted.unpersist();
      }
      tables.unpersist();
    }
  }

  private static String refusal(BudgetSettings budget, Set<String> failed) {
    return "--budget " + budget.budgetBits() + " --budget-scope fleet: "
        + (failed.isEmpty() ? "" : "with the " + failed.size() + " adapters that failed left out ("
            + String.join(", ", failed) + "), ");
  }

  /**
   * A measured layer's table for the allocation, or only its adapter when the layer failed
   * ({@code layer} null): what the allocation needs of the layer stage, small enough to keep
   * apart from the persisted factors.
   */
  public record Table(String adapter, FleetLayer layer) implements Serializable {
    private static final long serialVersionUID = 1L;

    static Table of(LayerOutcome o) {
      return new Table(o.adapter(), o.measured() == null ? null : o.measured().fleetLayer());
    }
  }
}
