package org.loraquant.spark.stage;

import java.io.Serializable;
import java.time.LocalDate;
import java.util.Map;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSettings;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.OutputDiscovery;
import org.loraquant.hadoop.RequestCounter;
import org.loraquant.options.JobSetting;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.OutputLayout;
import org.loraquant.codec.CompressionSettings;
import org.loraquant.io.OwnedFolder;
import org.loraquant.hadoop.OutputFileIO;

/**
 * What the executors of one run need, broadcast once: storage access (Hadoop settings, see {@link
 * HadoopFileIO}), the codec settings, where outputs go and the adapters being processed.
 *
 * @param outputIo how outputs are written (staged and renamed, or in place: see {@link
 *     OutputFileIO})
 * @param outputRoot qualified output root, without a trailing slash
 * @param adapters the adapters this run processes, by relative path
 * @param maxReadBytes the largest merged read of an adapter's tensors (the memory a task holds in
 *     read bytes): see {@link JobSetting#MAX_READ_BYTES}
 * @param budget the budget mode's settings, or null for the paper mode ({@code settings})
 * @param outputFolders what each adapter's output folder held when the run listed the output root
 *     ({@link OutputDiscovery.Listing#contents}), by adapter; the writer trusts it instead of asking
 *     the store again (the run lock keeps other runs out). An adapter without an entry has its
 *     folder looked at by the writer.
 * @param readAheadBytes the most bytes a layer task reads ahead of the layer it compresses: see
 *     {@link JobSetting#READ_AHEAD_BYTES}
 * @param storageThreads the most storage requests a task has under way at once (adapters opened
 *     or written together, files read ahead together): see {@link JobSetting#STORAGE_THREADS}
 */
public record JobContext(
    HadoopFileIO io,
    OutputFileIO outputIo,
    CodecSettings settings,
    String outputRoot,
    String runId,
    LocalDate runDate,
    Map<String, DiscoveredAdapter> adapters,
    long maxReadBytes,
    BudgetSettings budget,
    Map<String, OwnedFolder.Contents> outputFolders,
    long readAheadBytes,
    int storageThreads)
    implements Serializable {
  private static final long serialVersionUID = 6L;

  public JobContext {
    if (storageThreads < 1) {
      throw new IllegalArgumentException("storage threads " + storageThreads + " < 1");
    }
  }

  /** In the paper mode; writers look at their output folders themselves. */
  public JobContext(
      HadoopFileIO io,
      OutputFileIO outputIo,
      CodecSettings settings,
      String outputRoot,
      String runId,
      LocalDate runDate,
      Map<String, DiscoveredAdapter> adapters,
      long maxReadBytes) {
    this(io, outputIo, settings, outputRoot, runId, runDate, adapters, maxReadBytes, null, Map.of(),
        JobSetting.READ_AHEAD_BYTES.defaultValue(),
        (int) JobSetting.STORAGE_THREADS.defaultValue());
  }

  /** This context with {@code threads} storage requests under way at once. */
  public JobContext withStorageThreads(int threads) {
    return new JobContext(io, outputIo, settings, outputRoot, runId, runDate, adapters,
        maxReadBytes, budget, outputFolders, readAheadBytes, threads);
  }

  /** The codec settings of the run: the budget mode's when set, else the paper mode's. */
  public CompressionSettings codec() {
    return budget != null ? budget : settings;
  }

  /** With the default read size. */
  public JobContext(
      HadoopFileIO io,
      OutputFileIO outputIo,
      CodecSettings settings,
      String outputRoot,
      String runId,
      LocalDate runDate,
      Map<String, DiscoveredAdapter> adapters) {
    this(
        io,
        outputIo,
        settings,
        outputRoot,
        runId,
        runDate,
        adapters,
        JobSetting.MAX_READ_BYTES.defaultValue());
  }

  /**
   * The output folder of the adapter at {@code relativePath}: the same path under the root ({@link
   * OutputLayout}: the root adapter's is {@value OutputLayout#ROOT_ADAPTER_FOLDER}).
   */
  public String outputLocation(String relativePath) {
    return outputRoot + "/" + OutputLayout.folderOf(relativePath);
  }

  /** What the output folder of {@code relativePath} held when the run began, or null: unknown. */
  public OwnedFolder.Contents outputFolderAtStart(String relativePath) {
    return outputFolders.get(relativePath);
  }

  public DiscoveredAdapter adapter(String relativePath) {
    DiscoveredAdapter adapter = adapters.get(relativePath);
    if (adapter == null) {
      throw new IllegalArgumentException("adapter '" + relativePath + "' is not part of this run");
    }
    return adapter;
  }

  /**
   * Storage for reading {@code relativePath}'s input files (config, header, tensors), its requests
   * counted in {@code counter}, each read pinned to the version discovery listed where the store
   * allows it ({@link HadoopFileIO#pinnedTo}). Every stage reads an adapter's files through this
   * and nothing else, which is what lets assembly trust pinned reads instead of listing the
   * folder again ({@link AssembleStage}).
   */
  public HadoopFileIO inputIo(String relativePath, RequestCounter counter) {
    return io.counting(counter).pinnedTo(adapter(relativePath));
  }
}
