package org.loraquant.spark.stage;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.FleetAllocation;
import org.loraquant.codec.FleetAllocator;
import org.loraquant.codec.FleetLayer;
import org.loraquant.codec.FleetShare;
import org.loraquant.codec.LoraFactors;
import org.loraquant.errors.FleetBudgetTooSmallException;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.options.UsageException;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.LayerWork;
import scala.Tuple2;
import org.loraquant.stats.AdapterTotals;

/**
 * The fleet scope of the budget mode in the job (issue 20; docs/ALGORITHM.md, "Fleet budget"):
 * the share of the budget the adapters to compress get ({@link FleetShare}), a measuring pass
 * over their layers (one {@link FleetLayer} each, persisted), the allocation over it
 * ({@link SparkFleet}), and each layer's widths, which the layer stage then encodes.
 *
 * <p>First version: the encoding pass reads each layer again and recomputes its SVD and table
 * (the measuring pass keeps only the tables), so the input is read twice.
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

  /** r (m + n) summed over an opened adapter's LoRA modules, from its header (no reads). */
  public static long params(HadoopFileIO io, OpenedAdapter opened) {
    PeftAdapter layout = PeftAdapterReader.reopen(opened, opened.weightsFile(io));
    long params = 0;
    for (LoraModule m : layout.modules()) {
      params += m.params();
    }
    return params;
  }

  /**
   * Measures every layer of the planned tasks, allocates the shared bits over them and returns
   * each layer's widths. A layer that cannot be read or measured is left out (the encoding pass
   * fails it, with its message, and so its adapter).
   *
   * @throws UsageException when the shared bits cannot hold the smallest storable form
   */
  public static Widths allocate(JavaSparkContext jsc, org.apache.spark.broadcast.Broadcast<JobContext> context,
      List<PlannedTask> planned, FleetShare share) {
    BudgetSettings budget = context.value().budget();
    // Persisted before weighing too: weight adapter sums energies in a pass of its own, which
    // would otherwise read and decompose every layer once more.
    JavaRDD<FleetLayer> measured =
        jsc.parallelize(planned, Math.max(1, planned.size()))
            .flatMap(task -> measure(context.value(), task))
            .persist(StorageLevel.MEMORY_AND_DISK());
    JavaRDD<FleetLayer> weighted =
        SparkFleet.weighted(measured, budget.weight()).persist(StorageLevel.MEMORY_AND_DISK());
    try {
      FleetAllocation allocation;
      try {
        allocation = FleetAllocator.allocate(new SparkFleet(weighted), share.sharedBits());
      } catch (FleetBudgetTooSmallException e) {
        throw new UsageException("--budget " + budget.budgetBits() + " --budget-scope fleet: "
            + e.getMessage());
      }
      Map<String, int[]> widths =
          new TreeMap<>(
              weighted
                  .mapToPair(l -> new Tuple2<>(key(l.adapter(), l.module()), allocation.widths(l)))
                  .collectAsMap());
      return new Widths(widths, allocation, share);
    } finally {
      weighted.unpersist();
      measured.unpersist();
    }
  }

  private static Iterator<FleetLayer> measure(JobContext context, PlannedTask planned) {
    List<FleetLayer> out = new ArrayList<>();
    BudgetSettings budget = context.budget();
    String open = null;
    PeftAdapter adapter = null;
    for (LayerWork work : planned.task().layers()) {
      try {
        if (!work.adapter().equals(open)) {
          open = work.adapter();
          OpenedAdapter opened = planned.adapter(work.adapter());
          adapter = PeftAdapterReader.reopen(opened, opened.weightsFile(context.io()));
        }
        LoraModule module = adapter.module(work.module());
        if (module == null) {
          continue;
        }
        LoraFactors factors = PeftAdapterReader.readFactors(adapter, module);
        out.add(FleetLayer.measure(work.adapter(), work.module(), factors, budget.levels(),
            budget.groupSize(), LinearAlgebra.current()));
      } catch (RuntimeException e) {
        // Left out of the allocation; the encoding pass reports it.
      }
    }
    return out.iterator();
  }
}
