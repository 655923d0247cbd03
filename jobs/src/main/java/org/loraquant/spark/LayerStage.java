package org.loraquant.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.util.LongAccumulator;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.codec.LayerStats;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.io.ByteSpan;
import org.loraquant.io.ChunkedInputFile;
import org.loraquant.io.InputFile;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.LayerWork;
import org.loraquant.safetensors.TensorInfo;

/**
 * The layer stage: one Spark task per {@link PlannedTask}. Layers are compressed one at a time, as
 * Spark pulls them, so a task holds one decoded layer at once (plus the compressed ones the shuffle
 * has not written out yet).
 *
 * <p>Reads: nothing but tensors. The config and header came with the task (the open stage read
 * them), and the task's layers of one adapter, which the planner keeps together and in file order,
 * are read in merged byte ranges of at most {@link JobContext#maxReadBytes} (64 MB by default, or
 * one layer's two factors if larger): one request per range, usually the whole adapter's LoRA
 * factors, and one range in memory at a time. A range never ends between a layer's factors.
 */
final class LayerStage {
  private LayerStage() {}

  static Iterator<LayerOutcome> compress(
      JobContext context,
      PlannedTask planned,
      LongAccumulator layersDone,
      LongAccumulator bytesDone) {
    Iterator<LayerWork> layers = planned.task().layers().iterator();
    return new Iterator<>() {
      private String openAdapter;
      private PeftAdapter adapter;
      private RequestCounter counter;
      private StorageRequests countedSoFar = StorageRequests.NONE;
      private RuntimeException openFailure;

      @Override
      public boolean hasNext() {
        return layers.hasNext();
      }

      @Override
      public LayerOutcome next() {
        if (!layers.hasNext()) {
          throw new NoSuchElementException();
        }
        LayerWork work = layers.next();
        LayerOutcome outcome = compressOne(work);
        layersDone.add(1);
        bytesDone.add(work.bytes());
        return outcome;
      }

      private LayerOutcome compressOne(LayerWork work) {
        long start = System.nanoTime();
        try {
          PeftAdapter source = adapterOf(work.adapter());
          LoraModule module = source.module(work.module());
          if (module == null) {
            throw new IllegalStateException(
                source.location() + " no longer has module " + work.module() + " (replaced?)");
          }
          CompressedLayerResult result =
              AdapterCompressor.compressLayer(source, module, context.settings());
          return new LayerOutcome(
              work.adapter(),
              work.module(),
              withWallTime(result, System.nanoTime() - start),
              null,
              null,
              requestsSinceLastLayer());
        } catch (RuntimeException e) {
          AdapterStatus status = AdapterErrors.classify(e);
          return new LayerOutcome(
              work.adapter(),
              work.module(),
              null,
              AdapterErrors.message(e),
              status,
              requestsSinceLastLayer());
        }
      }

      /** What this layer's reads cost: the counter's growth since the previous layer. */
      private StorageRequests requestsSinceLastLayer() {
        if (counter == null) {
          return StorageRequests.NONE;
        }
        StorageRequests now = counter.snapshot();
        StorageRequests delta =
            new StorageRequests(
                now.lists() - countedSoFar.lists(),
                now.gets() - countedSoFar.gets(),
                now.heads() - countedSoFar.heads(),
                now.writes() - countedSoFar.writes(),
                now.bytesRead() - countedSoFar.bytesRead());
        countedSoFar = now;
        return delta;
      }

      private PeftAdapter adapterOf(String relativePath) {
        if (!relativePath.equals(openAdapter)) {
          openAdapter = relativePath;
          adapter = null;
          openFailure = null;
          counter = new RequestCounter();
          countedSoFar = StorageRequests.NONE;
          try {
            OpenedAdapter opened = planned.adapter(relativePath);
            InputFile weights = opened.weightsFile(context.io().counting(counter));
            // Layout only, no reads: which byte ranges this task needs of the adapter.
            PeftAdapter layout = PeftAdapterReader.reopen(opened, weights);
            List<ByteSpan> spans = new ArrayList<>();
            for (LayerWork work : planned.task().layers()) {
              LoraModule module =
                  work.adapter().equals(relativePath) ? layout.module(work.module()) : null;
              if (module != null) {
                spans.addAll(spans(module));
              }
            }
            adapter =
                PeftAdapterReader.reopen(
                    opened,
                    new ChunkedInputFile(weights, ByteSpan.merge(spans, context.maxReadBytes())));
          } catch (RuntimeException e) {
            openFailure = e;
          }
        }
        if (openFailure != null) {
          throw openFailure;
        }
        return adapter;
      }
    };
  }

  /**
   * A layer's two factors as one span when they lie side by side (as PEFT writes them), so that no
   * read ends between them: the reader takes lora_B before lora_A, and a read ending between them
   * would be loaded again for A, and the next one again after it. Apart, two spans.
   */
  private static List<ByteSpan> spans(LoraModule module) {
    ByteSpan a = span(module.a());
    ByteSpan b = span(module.b());
    if (a.end() == b.begin() || b.end() == a.begin()) {
      return List.of(new ByteSpan(Math.min(a.begin(), b.begin()), Math.max(a.end(), b.end())));
    }
    return List.of(a, b);
  }

  private static ByteSpan span(TensorInfo tensor) {
    return new ByteSpan(tensor.absoluteBegin(), tensor.absoluteBegin() + tensor.byteLength());
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
