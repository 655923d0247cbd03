package org.loraquant.spark;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.util.LongAccumulator;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.codec.LayerStats;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.LayerTask;
import org.loraquant.plan.LayerWork;

/**
 * The layer stage: one Spark task per {@link LayerTask}. Layers are compressed one at a time, as
 * Spark pulls them, so a task holds one decoded layer at once (plus the compressed ones the shuffle
 * has not written out yet). Each adapter's header is read once per task: the task's layers are
 * sorted by adapter, so the open adapter is kept until the next one starts.
 */
final class LayerStage {
  private LayerStage() {}

  static Iterator<LayerOutcome> compress(
      JobContext context, LayerTask task, LongAccumulator layersDone, LongAccumulator bytesDone) {
    Iterator<LayerWork> layers = task.layers().iterator();
    return new Iterator<>() {
      private String openAdapter;
      private PeftAdapter adapter;
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
              null);
        } catch (RuntimeException e) {
          AdapterStatus status = AdapterErrors.classify(e);
          return new LayerOutcome(
              work.adapter(), work.module(), null, AdapterErrors.message(e), status);
        }
      }

      private PeftAdapter adapterOf(String relativePath) {
        if (!relativePath.equals(openAdapter)) {
          openAdapter = relativePath;
          adapter = null;
          openFailure = null;
          try {
            adapter =
                PeftAdapterReader.open(context.io(), context.adapter(relativePath).location());
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
