package org.loraquant.spark.stage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.util.LongAccumulator;
import org.loraquant.codec.BudgetLayerResult;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.BudgetCompressionResult;
import org.loraquant.compress.CompressionManifest;
import org.loraquant.compress.CompressionResult;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.CompressedAdapterWriter;
import org.loraquant.hadoop.ChangedSinceDiscovery;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.RequestCounter;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.io.IoErrors;
import org.loraquant.io.ByteSpan;
import org.loraquant.io.ChunkedInputFile;
import org.loraquant.io.HeldRanges;
import org.loraquant.io.InputFile;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.safetensors.TensorInfo;
import org.loraquant.hadoop.AdapterDiscovery;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.stats.AdapterStatus;
import org.loraquant.stats.LayerFigures;
import scala.Tuple2;

/**
 * The assembly stage: all compressed layers of one adapter, gathered by a shuffle, become its
 * output folder, written once with the stats sidecar as the manifest. An adapter with a failed
 * layer gets no output (an older one is left as it is): half an adapter is no adapter. Nor does an
 * adapter whose files changed since discovery: it is incomplete instead of written.
 *
 * <p>Change detection. The output must come from one version of the adapter's files, the one
 * whose fingerprint its manifest records. Where reads cannot be pinned (local disks, HDFS, S3A
 * with change detection off), the folder is listed again once every byte the run takes from it
 * has been read, and an unchanged listing proves that they all came from the discovered version
 * (free locally, one LIST on a store). Where they are pinned ({@link HadoopFileIO#pinsReads}: S3A
 * with change detection by ETag, and an ETag listed for each file), that LIST is skipped: every
 * read of the adapter, in the open stage, the layer tasks and here, went through {@link
 * JobContext#inputIo} and was made against the listed ETag from its first request, so a read of
 * any other version was refused ({@link ChangedSinceDiscovery}: incomplete, in whichever stage).
 * A replacement after the last read is then harmless: the output is the discovered version,
 * written with the discovered fingerprint, and the next run lists the new ETag, so the
 * fingerprint differs and the new version is compressed (a file added or removed beside them
 * changes the fingerprint the same way). The LIST proved no more than that, at one request per
 * adapter. A failed layer or assembly still lists the folder, to report a change as the change
 * (failures are rare).
 *
 * <p>Reads: the config and header come with the adapter's {@link OpenedAdapter} (the open stage
 * read them, or, for an adapter read whole, its layer task: {@link LayerOutcome#openedInTask});
 * only pass-through tensors, if any, are read here, merged into as few ranges as the layer
 * stage's, and not those an adapter read whole had in its first read, which its task kept. With
 * the listing (unpinned reads only) and the output's files that is what the adapter's outcome
 * adds to the requests its open stage and layers counted. An adapter its task could not open
 * comes with that refusal alone and is reported as the open stage reports one: no listing,
 * nothing written.
 *
 * <p>Waiting: a task assembles its adapters together, up to {@link JobContext#storageThreads} at
 * once ({@link #assembleAll}), so their listings and writes overlap, and an adapter's files other
 * than the manifest are written together (the manifest still last: {@code OwnedFolder}).
 */
public final class AssembleStage {
  private AssembleStage() {}

  /**
   * {@link #assemble} of each adapter of a task's partition (the open stage's {@link
   * AdapterToAssemble} cogrouped with its layers), together; outcomes in their order, each with
   * its open stage's requests added.
   */
  public static Iterator<AdapterOutcome> assembleAll(
      JobContext context,
      Iterator<Tuple2<String, Tuple2<Iterable<AdapterToAssemble>, Iterable<LayerOutcome>>>> groups,
      LongAccumulator adaptersDone) {
    Iterator<AdapterOutcome> outcomes =
        StorageThreads.inOrder(
            groups,
            context.storageThreads(),
            group -> {
              AdapterToAssemble adapter = group._2()._1().iterator().next();
              // Progress is counted below, on the task's thread: an accumulator is not shared.
              return assembleCounted(
                      context, group._1(), group._2()._2(), adapter.opened(), () -> {})
                  .plusRequests(adapter.openRequests());
            });
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return outcomes.hasNext();
      }

      @Override
      public AdapterOutcome next() {
        AdapterOutcome outcome = outcomes.next();
        adaptersDone.add(1);
        return outcome;
      }
    };
  }

  public static AdapterOutcome assemble(
      JobContext context,
      String relativePath,
      Iterable<LayerOutcome> layers,
      OpenedAdapter opened,
      LongAccumulator adaptersDone) {
    return assembleCounted(context, relativePath, layers, opened, () -> adaptersDone.add(1));
  }

  /** {@link #assemble}, with every request it and the adapter's layers made; {@code done} at the end. */
  private static AdapterOutcome assembleCounted(
      JobContext context,
      String relativePath,
      Iterable<LayerOutcome> layers,
      OpenedAdapter opened,
      Runnable done) {
    RequestCounter counter = new RequestCounter();
    StorageRequests layerRequests = StorageRequests.NONE;
    for (LayerOutcome layer : layers) {
      layerRequests = layerRequests.plus(layer.requests());
    }
    return assembleOnce(context, relativePath, layers, opened, done, counter)
        .plusRequests(layerRequests.plus(counter.snapshot()));
  }

  private static AdapterOutcome assembleOnce(
      JobContext context,
      String relativePath,
      Iterable<LayerOutcome> layers,
      OpenedAdapter openedBefore,
      Runnable done,
      RequestCounter counter) {
    long start = System.nanoTime();
    // Opened before planning, or a small adapter opened by its layer task.
    OpenedAdapter opened = openedBefore;
    HeldRanges held = null; // a small adapter's pass-through tensors, read by its task
    for (LayerOutcome layer : layers) {
      if (layer.isAdapterOutcome()) {
        if (layer.error() != null) {
          // Opened in its task and refused there: reported as the open stage reports it.
          done.run();
          return AdapterOutcome.notCompressed(relativePath, layer.errorStatus(), layer.error(), 0);
        }
        opened = layer.openedInTask().opened();
        held = layer.openedInTask().passThrough();
      }
    }
    Map<String, CompressedLayerResult> byModule = new TreeMap<>();
    Map<String, BudgetLayerResult> budgetByModule = new TreeMap<>();
    // The failure reported is that of the first module in name order, so reruns say the same.
    String failedModule = null;
    String failure = null;
    int errors = 0;
    boolean incomplete = false;
    double layerSeconds = 0;
    for (LayerOutcome layer : layers) {
      if (layer.isAdapterOutcome()) {
        continue;
      }
      if (layer.error() != null) {
        errors++;
        incomplete |= layer.errorStatus() == AdapterStatus.INCOMPLETE;
        if (failedModule == null || layer.module().compareTo(failedModule) < 0) {
          failedModule = layer.module();
          failure = layer.error();
        }
      } else {
        if (layer.result() != null) {
          byModule.put(layer.module(), layer.result());
        } else {
          budgetByModule.put(layer.module(), layer.budgetResult());
        }
        layerSeconds += layer.nanos() / 1e9;
      }
    }
    try {
      if (failure != null) {
        // A layer that failed because the adapter changed under the run is reported as the change.
        IncompleteAdapterException changed = changeSinceDiscovery(context, relativePath, counter);
        if (changed != null) {
          return AdapterOutcome.notCompressed(
              relativePath,
              AdapterStatus.INCOMPLETE,
              changed.getMessage(),
              layerSeconds + seconds(start));
        }
        return AdapterOutcome.notCompressed(
            relativePath,
            incomplete ? AdapterStatus.INCOMPLETE : AdapterStatus.FAILED,
            errors == 1 ? failure : failure + " (and " + (errors - 1) + " more layers failed)",
            layerSeconds + seconds(start));
      }
      try {
        return write(
            context,
            relativePath,
            opened,
            held,
            byModule,
            budgetByModule,
            layerSeconds,
            start,
            counter);
      } catch (RuntimeException e) {
        return AdapterOutcome.notCompressed(
            relativePath,
            AdapterErrors.classify(e),
            AdapterErrors.message(e),
            layerSeconds + seconds(start));
      }
    } finally {
      done.run();
    }
  }

  private static AdapterOutcome write(
      JobContext context,
      String relativePath,
      OpenedAdapter opened,
      HeldRanges held, // null: pass-through tensors are read here
      Map<String, CompressedLayerResult> byModule,
      Map<String, BudgetLayerResult> budgetByModule,
      double layerSeconds,
      long start,
      RequestCounter counter) {
    DiscoveredAdapter discovered = context.adapter(relativePath);
    CompressedAdapter compressed;
    List<LayerFigures> figures = new ArrayList<>();
    ManifestWriter manifestWriter;
    try {
      if (opened == null) {
        throw new IllegalStateException("no header travelled with adapter '" + relativePath + "'");
      }
      InputFile weights = opened.weightsFile(context.inputIo(relativePath, counter));
      PeftAdapter adapter;
      if (held != null) {
        adapter = PeftAdapterReader.reopen(opened, held.over(weights));
      } else {
        PeftAdapter layout = PeftAdapterReader.reopen(opened, weights);
        List<ByteSpan> passThrough = new ArrayList<>();
        for (TensorInfo t : layout.passThrough()) {
          passThrough.add(new ByteSpan(t.absoluteBegin(), t.absoluteBegin() + t.byteLength()));
        }
        adapter =
            PeftAdapterReader.reopen(
                opened,
                new ChunkedInputFile(
                    weights, ByteSpan.merge(passThrough, context.maxReadBytes())));
      }
      if (context.budget() != null) {
        BudgetCompressionResult result =
            AdapterCompressor.assembleBudget(adapter, context.budget(), budgetByModule);
        compressed = result.adapter();
        result.layers().forEach(l -> figures.add(LayerFigures.budget(l, context.budget())));
        manifestWriter = run -> result.manifestJson(discovered.fingerprint(), run);
      } else {
        CompressionResult result =
            AdapterCompressor.assemble(adapter, context.settings(), byModule);
        compressed = result.adapter();
        result.layers().forEach(l -> figures.add(LayerFigures.paper(l, context.settings())));
        manifestWriter =
            run ->
                CompressionManifest.of(result, discovered.fingerprint(), run)
                    .toJson(context.settings());
      }
    } catch (RuntimeException e) {
      // E.g. a module the layers do not have, because the adapter was replaced: say so.
      IncompleteAdapterException changed = changeSinceDiscovery(context, relativePath, counter);
      throw changed != null ? changed : e;
    }
    // Every byte this run takes from the adapter has now been read (layers, header, pass-through
    // tensors): pinned, each was of the listed version; else an unchanged listing means they all
    // came from one version of its files (see the class comment).
    if (!readsPinned(context, discovered)) {
      IncompleteAdapterException changed = changeSinceDiscovery(context, relativePath, counter);
      if (changed != null) {
        throw changed;
      }
    }
    Instant finishedAt = Instant.now();
    Map<String, String> run =
        Map.of(
            OutputState.RUN_ID, context.runId(),
            OutputState.RUN_DATE, context.runDate().toString(),
            OutputState.FINISHED_AT, finishedAt.toString());
    try {
      byte[] manifest = manifestWriter.json(run);
      long bytesOut =
          CompressedAdapterWriter.write(
              context.outputIo().counting(counter),
              context.outputLocation(relativePath),
              compressed,
              manifest,
              context.outputFolderAtStart(relativePath),
              context.storageThreads() > 1 ? StorageThreads.SHARED : null);
      // fixed_file_bytes (docs/STATS.md): the writer returns only the folder's total, and the
      // config is a few hundred bytes of JSON, so it is rendered again rather than widening the API
      long fixedFileBytes =
          manifest.length + CompressedAdapterWriter.configBytes(compressed).length;
      return AdapterOutcome.compressed(
          relativePath,
          figures,
          bytesOut,
          fixedFileBytes,
          layerSeconds + seconds(start),
          finishedAt);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot write " + context.outputLocation(relativePath) + ": " + IoErrors.reason(e), e);
    }
  }

  /** The manifest of either mode, given who wrote it (run_id, run_date, finished_at). */
  private interface ManifestWriter {
    byte[] json(Map<String, String> run) throws IOException;
  }

  /** {@link HadoopFileIO#pinsReads}: whether every read of the adapter was pinned. */
  private static boolean readsPinned(JobContext context, DiscoveredAdapter discovered) {
    try {
      return context.io().pinsReads(discovered);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot reach the store of " + discovered.location() + ": " + IoErrors.reason(e), e);
    }
  }

  /**
   * Whether the adapter's files changed since discovery (a drop-folder upload during the run), as
   * the error to report, or null. Such an adapter is not written, since its layers may come from
   * two versions; its status is incomplete, and the next run, seeing the new fingerprint,
   * compresses the new version. Costs one listing of the folder.
   */
  private static IncompleteAdapterException changeSinceDiscovery(
      JobContext context, String relativePath, RequestCounter counter) {
    DiscoveredAdapter discovered = context.adapter(relativePath);
    String change;
    counter.list();
    try {
      Path folder = new Path(discovered.location());
      change =
          AdapterDiscovery.changeBetween(
              discovered, AdapterDiscovery.relist(context.io().fileSystem(folder), discovered));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot list " + discovered.location() + " again: " + IoErrors.reason(e), e);
    }
    return change == null ? null : ChangedSinceDiscovery.of(discovered, change);
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }
}
