package org.loraquant.spark.stage;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.loraquant.hadoop.RequestCounter;
import org.loraquant.io.ByteSpan;
import org.loraquant.io.FileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.InputFile;
import org.loraquant.io.JsonFiles;
import org.loraquant.io.ReadAhead;
import org.loraquant.peft.AdapterConfig;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.LayerWork;
import org.loraquant.safetensors.SafetensorsHeader;
import org.loraquant.stats.AdapterStatus;

/**
 * First executor stage: opens an adapter (config and safetensors header, no tensor data) and lists
 * its layers with their sizes and places in the file, the input of the layer planner. The folder's
 * files and lengths come from discovery's listing, so opening costs two reads: the config, and the
 * header with its length prefix (one more for a header over 128 KB). Adapters read whole are not
 * opened here but in their layer task, with the rest of their file ({@code RunPlanner.readWhole}).
 * Both reads are pinned to the listed versions where the store allows ({@link
 * JobContext#inputIo}): a file replaced since discovery makes the adapter incomplete here already.
 *
 * <p>Waiting: a task opens its adapters together, up to {@link JobContext#storageThreads} at once
 * ({@link #openAll}), and an adapter's two reads are made together too (the header read planned
 * beside the config's in a {@link ReadAhead}), so with several threads opening costs about one
 * round trip instead of two per adapter. The checks, refusals and messages are the reader's, in its
 * order: a config it refuses is refused before the header is looked at, as before (the header's
 * read, made meanwhile, is counted in the adapter's requests).
 */
public final class OpenStage {
  private OpenStage() {}

  /** {@link #open} of each adapter of a task's partition, together; outcomes in their order. */
  public static Iterator<OpenOutcome> openAll(JobContext context, Iterator<String> relativePaths) {
    return StorageThreads.inOrder(
        relativePaths, context.storageThreads(), path -> open(context, path));
  }

  public static OpenOutcome open(JobContext context, String relativePath) {
    DiscoveredAdapter discovered = context.adapter(relativePath);
    RequestCounter counter = new RequestCounter();
    try {
      PeftAdapter adapter = openCounted(context, discovered, counter);
      List<LayerWork> layers = layers(relativePath, adapter);
      return new OpenOutcome(
          relativePath,
          AdapterStatus.COMPRESSED,
          null,
          layers,
          adapter.opened(),
          counter.snapshot());
    } catch (RuntimeException e) {
      return new OpenOutcome(
          relativePath,
          AdapterErrors.classify(e),
          AdapterErrors.message(e),
          List.of(),
          null,
          counter.snapshot());
    }
  }

  /**
   * Opens the adapter with its config and header reads under way together (with more than one
   * storage thread): both planned in a read-ahead, the reader served from it in its own order.
   */
  private static PeftAdapter openCounted(
      JobContext context, DiscoveredAdapter discovered, RequestCounter counter) {
    FileIO io = context.inputIo(discovered.relativePath(), counter);
    Map<String, Long> listed = listed(discovered);
    String folder = FolderPaths.withoutTrailingSlash(discovered.location());
    if (context.storageThreads() <= 1) {
      return PeftAdapterReader.open(io, folder, listed);
    }
    Map<String, InputFile> files = new TreeMap<>();
    List<ReadAhead.Read> reads = new ArrayList<>(2);
    long aheadBytes = 0;
    Long configLength = listed.get(AdapterConfig.FILE_NAME);
    Long weightsLength = listed.get(PeftAdapterReader.WEIGHTS_FILE);
    // Planned only what the reader reads first, and only where it reads it (not a config it
    // refuses by its listed length, nor a file too short for a length prefix).
    if (configLength != null && configLength <= JsonFiles.MAX_JSON_FILE_BYTES) {
      InputFile config = io.newInputFile(folder + "/" + AdapterConfig.FILE_NAME, configLength);
      files.put(AdapterConfig.FILE_NAME, config);
      reads.add(new ReadAhead.Read(config, new ByteSpan(0, configLength)));
      aheadBytes += configLength;
    }
    if (weightsLength != null && weightsLength >= SafetensorsHeader.LENGTH_PREFIX_BYTES) {
      InputFile weights = io.newInputFile(folder + "/" + PeftAdapterReader.WEIGHTS_FILE,
          weightsLength);
      files.put(PeftAdapterReader.WEIGHTS_FILE, weights);
      long first = Math.min(weightsLength, SafetensorsHeader.SPECULATIVE_HEADER_BYTES);
      reads.add(new ReadAhead.Read(weights, new ByteSpan(0, first)));
      aheadBytes += first;
    }
    // Both fit the cap and the threads: both are handed out now, so each is made exactly once.
    try (ReadAhead ahead =
        new ReadAhead(reads, aheadBytes, context.storageThreads(), StorageThreads.SHARED)) {
      try {
        return PeftAdapterReader.open(
            io,
            folder,
            listed,
            name -> {
              InputFile planned = files.get(name);
              return planned != null
                  ? ahead.file(planned)
                  : io.newInputFile(folder + "/" + name, listed.get(name));
            });
      } catch (RuntimeException refused) {
        // Refused before the header was looked at, say: its read still ends first, so that the
        // adapter's requests are the same on every run.
        ahead.awaitBackground();
        throw refused;
      }
    }
  }

  /** The layers of {@code adapter}, placed where their factors start in its weights file. */
  static List<LayerWork> layers(String relativePath, PeftAdapter adapter) {
    List<LayerWork> layers = new ArrayList<>(adapter.modules().size());
    for (LoraModule module : adapter.modules()) {
      long position = Math.min(module.a().absoluteBegin(), module.b().absoluteBegin());
      layers.add(new LayerWork(relativePath, module.module(), module.bytes(), position));
    }
    return layers;
  }

  /** The folder's files by name with their lengths, as discovery listed them. */
  static Map<String, Long> listed(DiscoveredAdapter discovered) {
    Map<String, Long> files = new TreeMap<>();
    for (DiscoveredAdapter.AdapterFile f : discovered.files()) {
      files.put(f.name(), f.size());
    }
    return files;
  }
}
