package org.loraquant.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.util.LongAccumulator;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.CompressionManifest;
import org.loraquant.compress.CompressionResult;
import org.loraquant.format.CompressedAdapterWriter;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;

/**
 * The assembly stage: all compressed layers of one adapter, gathered by a shuffle, become its
 * output folder, written once with the stats sidecar as the manifest. An adapter with a failed
 * layer gets no output (an older one is left as it is): half an adapter is no adapter.
 */
final class AssembleStage {
  private AssembleStage() {}

  static AdapterOutcome assemble(
      JobContext context,
      String relativePath,
      Iterable<LayerOutcome> layers,
      LongAccumulator adaptersDone) {
    long start = System.nanoTime();
    Map<String, CompressedLayerResult> byModule = new TreeMap<>();
    // The failure reported is that of the first module in name order, so reruns say the same.
    String failedModule = null;
    String failure = null;
    int errors = 0;
    boolean incomplete = false;
    double layerSeconds = 0;
    for (LayerOutcome layer : layers) {
      if (layer.error() != null) {
        errors++;
        incomplete |= layer.errorStatus() == AdapterStatus.INCOMPLETE;
        if (failedModule == null || layer.module().compareTo(failedModule) < 0) {
          failedModule = layer.module();
          failure = layer.error();
        }
      } else {
        byModule.put(layer.module(), layer.result());
        layerSeconds += layer.result().stats().nanos() / 1e9;
      }
    }
    try {
      if (failure != null) {
        return AdapterOutcome.notCompressed(
            relativePath,
            incomplete ? AdapterStatus.INCOMPLETE : AdapterStatus.FAILED,
            errors == 1 ? failure : failure + " (and " + (errors - 1) + " more layers failed)",
            layerSeconds + seconds(start));
      }
      try {
        return write(context, relativePath, byModule, layerSeconds, start);
      } catch (RuntimeException e) {
        return AdapterOutcome.notCompressed(
            relativePath,
            AdapterErrors.classify(e),
            AdapterErrors.message(e),
            layerSeconds + seconds(start));
      }
    } finally {
      adaptersDone.add(1);
    }
  }

  private static AdapterOutcome write(
      JobContext context,
      String relativePath,
      Map<String, CompressedLayerResult> byModule,
      double layerSeconds,
      long start) {
    DiscoveredAdapter discovered = context.adapter(relativePath);
    PeftAdapter adapter = PeftAdapterReader.open(context.io(), discovered.location());
    CompressionResult result = AdapterCompressor.assemble(adapter, context.settings(), byModule);
    Instant finishedAt = Instant.now();
    Map<String, String> run =
        Map.of(
            OutputState.RUN_ID, context.runId(),
            OutputState.RUN_DATE, context.runDate().toString(),
            OutputState.FINISHED_AT, finishedAt.toString());
    try {
      byte[] manifest =
          CompressionManifest.of(result, discovered.fingerprint(), run).toJson(context.settings());
      long bytesOut =
          CompressedAdapterWriter.write(
              context.outputIo(), context.outputLocation(relativePath), result.adapter(), manifest);
      return new AdapterOutcome(
          relativePath,
          AdapterStatus.COMPRESSED,
          null,
          result.layers(),
          bytesOut,
          layerSeconds + seconds(start),
          finishedAt);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot write " + context.outputLocation(relativePath) + ": " + e.getMessage(), e);
    }
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }
}
