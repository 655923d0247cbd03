package org.loraquant.spark.stage;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.util.LongAccumulator;
import org.loraquant.codec.BudgetCodec;
import org.loraquant.codec.BudgetLayerResult;
import org.loraquant.codec.BudgetLayerStats;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.LayerStats;
import org.loraquant.codec.MeasuredLayer;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.LayerPlanner;
import org.loraquant.plan.LayerWork;
import org.loraquant.stats.AdapterStatus;

/**
 * The layer stage: one Spark task per {@link PlannedTask}. Layers are compressed one at a time, as
 * Spark pulls them, so a task holds one decoded layer at once (plus the compressed ones the shuffle
 * has not written out yet).
 *
 * <p>Reads: nothing but tensors, planned for the whole task by {@link TaskReads}: merged byte
 * ranges of at most {@link JobContext#maxReadBytes}, one request each, the next read on a
 * background thread while the current layer compresses. An adapter the task holds whole
 * ({@link LayerWork#wholeAdapter}) is opened here from one read of its config and the first of its
 * weights file ({@link TaskReads#openWhole}); it then yields its own outcome ({@link
 * LayerOutcome#isAdapterOutcome}: the adapter for assembly, or why it cannot be opened) before its
 * layers.
 *
 * <p>The budget mode (docs/ALGORITHM.md, "Budget mode") encodes with {@link BudgetCodec}: layer by
 * layer in scope {@code layer}; in scope {@code adapter} a task holds whole adapters and encodes
 * each at its first layer, holding all of that adapter's factors at once (as {@code compress}
 * does). In scope {@code fleet} this stage only measures each layer ({@link MeasuredLayer}: table
 * and factors, persisted by {@link CompressionPhase}); once the fleet's widths are known,
 * {@link #encodeMeasured} encodes it from there, so each layer is read once.
 */
public final class LayerStage {
  private LayerStage() {}

  public static Iterator<LayerOutcome> compress(
      JobContext context,
      PlannedTask planned,
      LongAccumulator layersDone,
      LongAccumulator bytesDone) {
    // The plan's layers; a whole small adapter's layers go in after it once the task opened it.
    List<LayerWork> planLayers = new ArrayList<>(planned.task().layers());
    return new Iterator<>() {
      private int position; // the next layer's index in planLayers
      private TaskReads reads;
      private String encodedAdapter;
      private Map<String, BudgetLayerResult> encoded;
      private RuntimeException encodeFailure;

      @Override
      public boolean hasNext() {
        if (position < planLayers.size()) {
          return true;
        }
        if (reads != null) {
          reads.close();
        }
        return false;
      }

      @Override
      public LayerOutcome next() {
        if (position >= planLayers.size()) {
          throw new NoSuchElementException();
        }
        if (reads == null) {
          reads = TaskReads.open(context, planned);
        }
        LayerWork work = planLayers.get(position++);
        if (work.isWholeAdapter()) {
          return openWhole(work);
        }
        LayerOutcome outcome = compressOne(work);
        layersDone.add(1);
        bytesDone.add(work.bytes());
        return outcome;
      }

      /** What this layer's reads cost; see {@link TaskReads#requestsOfLayer}. */
      private StorageRequests requestsSinceLastLayer() {
        LayerWork work = planLayers.get(position - 1);
        return reads.requestsOfLayer(work.adapter(), isLastOfItsAdapter(position - 1));
      }

      private boolean isLastOfItsAdapter(int index) {
        return index + 1 == planLayers.size()
            || !planLayers.get(index + 1).adapter().equals(planLayers.get(index).adapter());
      }

      /**
       * A small adapter held whole: opened from the task's reads of its files, its layers put in
       * its place in the plan (in file order), and its own outcome returned, which carries it to
       * assembly, or why it cannot be opened (it then has no layers).
       */
      private LayerOutcome openWhole(LayerWork work) {
        List<LayerWork> mine = List.of();
        LayerOutcome.OpenedInTask opened = null;
        String error = null;
        AdapterStatus status = null;
        try {
          opened = reads.openWhole(work.adapter());
          mine = new ArrayList<>(OpenStage.layers(work.adapter(), adapterOf(work.adapter())));
          mine.sort(LayerPlanner.FILE_ORDER);
        } catch (RuntimeException e) {
          error = AdapterErrors.message(e);
          status = AdapterErrors.classify(e);
        }
        planLayers.addAll(position, mine);
        // Progress counts the file's bytes: its layers' now, the rest (header, pass-through) here.
        bytesDone.add(Math.max(0, work.bytes() - mine.stream().mapToLong(LayerWork::bytes).sum()));
        return LayerOutcome.ofAdapter(
            work.adapter(),
            opened,
            error,
            status,
            reads.requestsOfLayer(work.adapter(), mine.isEmpty()));
      }

      private PeftAdapter adapterOf(String relativePath) {
        return reads.adapter(relativePath);
      }

      private LayerOutcome compressOne(LayerWork work) {
        long start = System.nanoTime();
        try {
          BudgetSettings budget = context.budget();
          if (budget != null && budget.scope() == BudgetScope.ADAPTER) {
            BudgetLayerResult result = encodedWithItsAdapter(work);
            return LayerOutcome.budget(
                work.adapter(), work.module(), result, requestsSinceLastLayer());
          }
          PeftAdapter source = adapterOf(work.adapter());
          LoraModule module = moduleOf(source, work.module());
          if (budget != null && budget.scope() == BudgetScope.FLEET) {
            // Measured only: the widths come from the whole fleet's tables (encodeMeasured).
            LoraFactors factors = PeftAdapterReader.readFactors(source, module);
            MeasuredLayer measured = BudgetCodec.measureForEncoding(work.adapter(),
                work.module(), factors, budget, LinearAlgebra.current());
            return LayerOutcome.measured(work.adapter(), work.module(),
                measured.withNanos(System.nanoTime() - start), requestsSinceLastLayer());
          }
          if (budget != null) {
            LoraFactors factors = PeftAdapterReader.readFactors(source, module);
            BudgetLayerResult result = budgetCodec(source, List.of(factors), budget).get(0);
            return LayerOutcome.budget(work.adapter(), work.module(),
                withWallTime(result, System.nanoTime() - start), requestsSinceLastLayer());
          }
          CompressedLayerResult result =
              AdapterCompressor.compressLayer(source, module, context.settings());
          return LayerOutcome.paper(
              work.adapter(),
              work.module(),
              withWallTime(result, System.nanoTime() - start),
              requestsSinceLastLayer());
        } catch (RuntimeException e) {
          AdapterStatus status = AdapterErrors.classify(e);
          return LayerOutcome.failed(
              work.adapter(),
              work.module(),
              AdapterErrors.message(e),
              status,
              requestsSinceLastLayer());
        }
      }

      /**
       * Scope {@code adapter} of the budget mode: one budget over all layers of the adapter, so
       * its first layer encodes them all (the planner gave the task the whole adapter), exactly as
       * {@link AdapterCompressor#compressBudget} does, modules in name order (read in the plan's
       * order, the file's); the others are handed out from there. A failure fails every layer of
       * the adapter: none can be encoded without the others' tables.
       */
      private BudgetLayerResult encodedWithItsAdapter(LayerWork work) {
        if (!work.adapter().equals(encodedAdapter)) {
          encodedAdapter = work.adapter();
          encoded = null;
          encodeFailure = null;
          try {
            long start = System.nanoTime();
            PeftAdapter source = adapterOf(work.adapter());
            // Read in the plan's order, the file's, which the task's reads follow; encoded in
            // name order, as compress does.
            Map<String, LoraFactors> read = new HashMap<>();
            for (LayerWork w : planLayers) {
              if (w.adapter().equals(work.adapter()) && !w.isWholeAdapter()) {
                read.put(w.module(),
                    PeftAdapterReader.readFactors(source, moduleOf(source, w.module())));
              }
            }
            List<String> modules = new ArrayList<>(read.keySet());
            Collections.sort(modules);
            List<LoraFactors> factors = new ArrayList<>();
            for (String module : modules) {
              factors.add(read.get(module));
            }
            List<BudgetLayerResult> results = budgetCodec(source, factors, context.budget());
            encoded = new HashMap<>();
            // The layers' wall times share the adapter's reading evenly; each keeps its codec time.
            long readNanos = Math.max(0, System.nanoTime() - start - codecNanos(results));
            for (int i = 0; i < modules.size(); i++) {
              BudgetLayerResult r = results.get(i);
              encoded.put(modules.get(i),
                  withWallTime(r, r.stats().nanos() + readNanos / modules.size()));
            }
          } catch (RuntimeException e) {
            encodeFailure = e;
          }
        }
        if (encodeFailure != null) {
          throw encodeFailure;
        }
        return encoded.get(work.module());
      }

    };
  }

  /**
   * The budget mode's scope {@code fleet}, second half: a layer that {@link #compress} measured,
   * encoded at its widths from {@code fleetWidths} (key {@link FleetStage#key}) from the persisted
   * measurement, with no read (its factors are decomposed again, the same thin SVD as when
   * measured). A failed layer stays as it is; so do the
   * requests of the read that measured it. The stats' time covers reading, measuring and encoding.
   * A healthy layer of an adapter in {@code leftOut} (another of its layers failed, so it was left
   * out of the allocation; {@link FleetStage#allocate}) is not encoded: it comes back with neither
   * result nor error, and its adapter fails by the layer that did.
   */
  public static LayerOutcome encodeMeasured(
      JobContext context, LayerOutcome layer, Map<String, int[]> fleetWidths,
      java.util.Set<String> leftOut) {
    MeasuredLayer measured = layer.measured();
    if (measured == null) {
      return layer;
    }
    if (leftOut.contains(layer.adapter())) {
      return LayerOutcome.leftOut(layer.adapter(), layer.module(), layer.requests());
    }
    try {
      int[] widths = fleetWidths.get(FleetStage.key(layer.adapter(), layer.module()));
      if (widths == null) {
        throw new IllegalStateException(layer.adapter() + " " + layer.module()
            + ": has no widths in the fleet allocation");
      }
      BudgetLayerResult result =
          BudgetCodec.encode(measured, widths, context.budget(), LinearAlgebra.current());
      return LayerOutcome.budget(layer.adapter(), layer.module(), result, layer.requests());
    } catch (RuntimeException e) {
      return LayerOutcome.failed(layer.adapter(), layer.module(), AdapterErrors.message(e),
          AdapterErrors.classify(e), layer.requests());
    }
  }

  private static LoraModule moduleOf(PeftAdapter source, String name) {
    LoraModule module = source.module(name);
    if (module == null) {
      throw new IllegalStateException(
          source.location() + " no longer has module " + name + " (replaced?)");
    }
    return module;
  }

  /**
   * {@link BudgetCodec#compress}, its refusals (a budget too small for the adapter's smallest
   * storable form, non-finite factors) as this adapter's failure, naming its weights file.
   */
  private static List<BudgetLayerResult> budgetCodec(
      PeftAdapter source, List<LoraFactors> factors, BudgetSettings budget) {
    try {
      return BudgetCodec.compress(factors, budget, LinearAlgebra.current());
    } catch (IllegalArgumentException e) {
      throw new InvalidAdapterException(
          source.weightsFile().location(),
          null,
          "budget mode (--budget "
              + BigDecimal.valueOf(budget.budgetBits()).stripTrailingZeros().toPlainString()
              + "): "
              + e.getMessage(),
          e);
    }
  }

  private static long codecNanos(List<BudgetLayerResult> results) {
    long nanos = 0;
    for (BudgetLayerResult r : results) {
      nanos += r.stats().nanos();
    }
    return nanos;
  }

  private static BudgetLayerResult withWallTime(BudgetLayerResult r, long nanos) {
    BudgetLayerStats s = r.stats();
    return new BudgetLayerResult(
        r.layer(),
        new BudgetLayerStats(
            s.m(),
            s.n(),
            s.rank(),
            s.widths(),
            s.params(),
            s.storedBits(),
            s.squaredError(),
            s.energy(),
            s.refitSteps(),
            nanos));
  }

  /** The stats' seconds cover reading the layer too, not only the codec. */
  private static CompressedLayerResult withWallTime(CompressedLayerResult r, long nanos) {
    LayerStats s = r.stats();
    LayerStats timed =
        new LayerStats(
            s.m(),
            s.n(),
            s.rank(),
            s.k(),
            s.h(),
            s.singularValues(),
            s.highEnergyShare(),
            s.payloadBits(),
            s.params(),
            s.effectiveBits(),
            s.relError(),
            s.errorHigh(),
            s.errorLow(),
            s.zeroUpdate(),
            nanos);
    return new CompressedLayerResult(r.layer(), timed);
  }
}
