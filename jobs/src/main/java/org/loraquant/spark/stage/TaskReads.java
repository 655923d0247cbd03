package org.loraquant.spark.stage;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;
import org.loraquant.hadoop.RequestCounter;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.io.ByteSpan;
import org.loraquant.io.FileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.HeldRanges;
import org.loraquant.io.InputFile;
import org.loraquant.io.IoErrors;
import org.loraquant.io.JsonFiles;
import org.loraquant.io.ReadAhead;
import org.loraquant.peft.AdapterConfig;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.LayerWork;
import org.loraquant.safetensors.SafetensorsHeader;
import org.loraquant.safetensors.TensorInfo;

/**
 * What a layer task reads, planned at its start: for each adapter it holds layers of (in the
 * task's order), the byte ranges of those layers' factors merged into reads of at most {@link
 * JobContext#maxReadBytes} (a range never ends between a layer's two factors), all of them read in
 * order through one {@link ReadAhead}, so the next read is under way while a layer compresses
 * (at most {@link JobContext#readAheadBytes} ahead, up to {@link JobContext#storageThreads} reads
 * under way at once, so that a task of many small adapters waits for their files together and
 * its first read does not wait alone). The config and header came with the task (the
 * open stage read them): the task reads nothing but tensors. An adapter the task holds whole
 * ({@link LayerWork#wholeAdapter}) was not opened before: its reads are its config and its whole
 * weights file, in that order, one request each, and {@link #openWhole} opens it from their
 * bytes when the layer stage gets to it; its layers and pass-through tensors are then read from
 * the same bytes, so none is read twice. A weights file longer than one read is read from its
 * start, one read's worth, and the header found there tells where its other layers lie: those
 * are then planned right after it (merged reads; {@link ReadAhead#planAfter}), so such an
 * adapter costs its config and ceil(length / read) reads or so, and no header read of its own.
 *
 * <p>Every read of an adapter goes through {@link JobContext#inputIo}, pinned to the listed
 * version where the store allows: a file replaced since discovery fails its adapter's layers as
 * incomplete, which assembly reports as the change.
 *
 * <p>Each adapter's requests are counted apart ({@link #requestsOfLayer}), so the stats give each
 * adapter what it cost even when its first read was made while the previous adapter's last layer
 * compressed. A failure stays with its adapter: an adapter whose header no longer parses, or
 * whose read fails, fails its own layers only.
 *
 * <p>The background read stops with the task: {@link #close} at its end, and on a kill or
 * failure through the task's completion listener.
 */
final class TaskReads implements Closeable {
  private static final class AdapterReads {
    final RequestCounter counter = new RequestCounter();
    StorageRequests countedSoFar = StorageRequests.NONE;
    InputFile weights;
    PeftAdapter adapter;
    RuntimeException openFailure;
    /** A small adapter read whole and opened by this task: see {@link #openWhole}. */
    WholeAdapter whole;
  }

  /** An adapter this task opens itself, from its listing; its two files' first reads planned. */
  private record WholeAdapter(
      String folder, Map<String, Long> listed, FileIO io, InputFile config, InputFile weights) {
    long weightsLength() {
      return listed.getOrDefault(PeftAdapterReader.WEIGHTS_FILE, -1L);
    }
  }

  private final Map<String, AdapterReads> adapters;
  private final ReadAhead readAhead;
  private final long maxReadBytes;

  private TaskReads(Map<String, AdapterReads> adapters, ReadAhead readAhead, long maxReadBytes) {
    this.adapters = adapters;
    this.readAhead = readAhead;
    this.maxReadBytes = maxReadBytes;
  }

  /** Plans the task's reads and starts reading ahead; closed with the Spark task, if any. */
  static TaskReads open(JobContext context, PlannedTask planned) {
    Map<String, AdapterReads> adapters = new LinkedHashMap<>();
    Map<String, List<ByteSpan>> spans = new LinkedHashMap<>();
    List<ReadAhead.Read> plannedReads = new ArrayList<>();
    for (LayerWork work : planned.task().layers()) {
      AdapterReads reads = adapters.get(work.adapter());
      if (reads == null) {
        reads = new AdapterReads();
        adapters.put(work.adapter(), reads);
        spans.put(work.adapter(), new ArrayList<>());
        if (work.isWholeAdapter()) {
          reads.whole = whole(context, work.adapter(), reads.counter);
          reads.weights = reads.whole.weights();
          continue;
        }
        try {
          OpenedAdapter opened = planned.adapter(work.adapter());
          reads.weights = opened.weightsFile(context.inputIo(work.adapter(), reads.counter));
          // Layout only, no reads: which byte ranges this task needs of the adapter.
          reads.adapter = PeftAdapterReader.reopen(opened, reads.weights);
        } catch (RuntimeException e) {
          reads.openFailure = e;
        }
      }
      LoraModule module = reads.adapter == null ? null : reads.adapter.module(work.module());
      if (module != null) {
        spans.get(work.adapter()).addAll(spans(module));
      }
    }
    spans.forEach(
        (name, mine) -> {
          AdapterReads reads = adapters.get(name);
          if (reads.whole != null) {
            plannedReads.addAll(wholeReads(reads.whole, context.maxReadBytes()));
            return;
          }
          for (ByteSpan read : ByteSpan.merge(mine, context.maxReadBytes())) {
            plannedReads.add(new ReadAhead.Read(reads.weights, read));
          }
        });
    ReadAhead readAhead =
        new ReadAhead(
            plannedReads,
            context.readAheadBytes(),
            context.storageThreads(),
            StorageThreads.SHARED);
    TaskReads reads = new TaskReads(adapters, readAhead, context.maxReadBytes());
    TaskContext task = TaskContext.get();
    if (task != null) {
      TaskCompletionListener closeAtEnd = done -> reads.close();
      task.addTaskCompletionListener(closeAtEnd);
    }
    for (Map.Entry<String, AdapterReads> e : adapters.entrySet()) {
      AdapterReads a = e.getValue();
      if (a.adapter != null) {
        try {
          a.adapter =
              PeftAdapterReader.reopen(planned.adapter(e.getKey()), readAhead.file(a.weights));
        } catch (RuntimeException failure) {
          a.adapter = null;
          a.openFailure = failure;
        }
      }
    }
    return reads;
  }

  /** The files of a small adapter, from its listing (their lengths known: no HEAD). */
  private static WholeAdapter whole(JobContext context, String relativePath, RequestCounter counter) {
    DiscoveredAdapter discovered = context.adapter(relativePath);
    String folder = FolderPaths.withoutTrailingSlash(discovered.location());
    Map<String, Long> listed = OpenStage.listed(discovered);
    FileIO io = context.inputIo(relativePath, counter);
    Long configLength = listed.get(AdapterConfig.FILE_NAME);
    InputFile config =
        configLength == null
            ? null
            : io.newInputFile(folder + "/" + AdapterConfig.FILE_NAME, configLength);
    InputFile weights =
        io.newInputFile(
            folder + "/" + PeftAdapterReader.WEIGHTS_FILE,
            listed.getOrDefault(PeftAdapterReader.WEIGHTS_FILE, -1L));
    return new WholeAdapter(folder, listed, io, config, weights);
  }

  /**
   * An adapter's reads when the task holds it whole: its config whole, then its weights file
   * whole, or its first {@code maxReadBytes} when longer (what opening reads first, then what its
   * layers and pass-through tensors need, all inside it; the rest of a longer file is planned
   * once its header is read: {@link #openWhole}). Opening refuses without reading them a folder
   * without a config (an upload in progress), a config over the JSON bound and a file too short
   * for a safetensors length prefix, so those are not planned.
   */
  private static List<ReadAhead.Read> wholeReads(WholeAdapter whole, long maxReadBytes) {
    List<ReadAhead.Read> reads = new ArrayList<>(2);
    Long configLength = whole.listed().get(AdapterConfig.FILE_NAME);
    if (whole.config() == null || configLength > JsonFiles.MAX_JSON_FILE_BYTES) {
      return reads;
    }
    reads.add(new ReadAhead.Read(whole.config(), new ByteSpan(0, configLength)));
    if (whole.weightsLength() >= SafetensorsHeader.LENGTH_PREFIX_BYTES) {
      reads.add(
          new ReadAhead.Read(whole.weights(), firstRead(whole.weightsLength(), maxReadBytes)));
    }
    return reads;
  }

  /**
   * Opens the adapter at {@code relativePath} ({@link LayerWork#wholeAdapter}) from the reads
   * planned for it: its config and its weights file's first read, one request each, the header
   * parsed from the file's bytes with the same checks and refusals as the open stage's; the reads
   * of its layers past the first read are planned here ({@link ReadAhead#planAfter}). Returns what
   * assembly needs of it, pass-through tensors' bytes included (read from the same bytes);
   * afterwards {@link #adapter} gives it. Throws the reason it cannot be opened, which then stays
   * its failure.
   */
  LayerOutcome.OpenedInTask openWhole(String relativePath) {
    AdapterReads reads = adapters.get(relativePath);
    if (reads == null || reads.whole == null) {
      throw new IllegalArgumentException(
          "this task does not hold '" + relativePath + "' as a whole adapter");
    }
    if (reads.openFailure != null) {
      throw reads.openFailure;
    }
    WholeAdapter whole = reads.whole;
    try {
      reads.adapter =
          PeftAdapterReader.open(
              whole.io(), whole.folder(), whole.listed(), name -> file(whole, name));
      // What the first read holds is kept: pass-through tensors for assembly (the others it
      // reads itself), layers from here; the layers past it are planned now, in merged reads.
      ByteSpan first = firstRead(whole.weightsLength(), maxReadBytes);
      List<ByteSpan> passThrough = new ArrayList<>();
      for (TensorInfo t : reads.adapter.passThrough()) {
        if (inside(first, span(t))) {
          passThrough.add(span(t));
        }
      }
      HeldRanges held =
          passThrough.isEmpty()
              ? HeldRanges.NONE
              : HeldRanges.read(reads.adapter.weightsFile(), passThrough);
      List<ByteSpan> rest = new ArrayList<>();
      for (LoraModule module : reads.adapter.modules()) {
        for (ByteSpan span : spans(module)) {
          if (!inside(first, span)) {
            rest.add(span);
          }
        }
      }
      if (!rest.isEmpty()) {
        readAhead.planAfter(whole.weights(), ByteSpan.merge(rest, maxReadBytes));
      }
      return new LayerOutcome.OpenedInTask(reads.adapter.opened(), held);
    } catch (IOException e) {
      reads.adapter = null;
      reads.openFailure = IoErrors.cannotRead(whole.weights().location(), e);
      throw reads.openFailure;
    } catch (RuntimeException e) {
      reads.adapter = null;
      reads.openFailure = e;
      throw e;
    }
  }

  /** A file of a small adapter, its planned read served through the read-ahead. */
  private InputFile file(WholeAdapter whole, String name) {
    if (name.equals(AdapterConfig.FILE_NAME) && whole.config() != null) {
      return readAhead.file(whole.config());
    }
    if (name.equals(PeftAdapterReader.WEIGHTS_FILE)) {
      return readAhead.file(whole.weights());
    }
    return whole.io().newInputFile(
        whole.folder() + "/" + name, whole.listed().getOrDefault(name, -1L));
  }

  /** The adapter at {@code relativePath}, read through this task's reads; throws its failure. */
  PeftAdapter adapter(String relativePath) {
    AdapterReads reads = adapters.get(relativePath);
    if (reads == null) {
      throw new IllegalArgumentException("this task has no layers of '" + relativePath + "'");
    }
    if (reads.openFailure != null) {
      throw reads.openFailure;
    }
    return reads.adapter;
  }

  /**
   * What a layer of {@code relativePath} cost: its adapter's requests since the previous layer.
   * At the adapter's last layer in the task ({@code last}) its reading ends ({@link
   * ReadAhead#release}), so that no read of it is left uncounted.
   */
  StorageRequests requestsOfLayer(String relativePath, boolean last) {
    AdapterReads reads = adapters.get(relativePath);
    if (reads == null) {
      return StorageRequests.NONE;
    }
    if (last && reads.weights != null) {
      readAhead.release(reads.weights);
    }
    if (last && reads.whole != null && reads.whole.config() != null) {
      readAhead.release(reads.whole.config());
    }
    StorageRequests now = reads.counter.snapshot();
    StorageRequests before = reads.countedSoFar;
    reads.countedSoFar = now;
    return new StorageRequests(
        now.lists() - before.lists(),
        now.gets() - before.gets(),
        now.heads() - before.heads(),
        now.writes() - before.writes(),
        now.bytesRead() - before.bytesRead());
  }

  /** Stops reading ahead and drops what was read; idempotent. */
  @Override
  public void close() {
    readAhead.close();
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

  /**
   * A weights file's first read: one read's worth from its start, and at least what the header's
   * speculative read takes ({@link SafetensorsHeader#SPECULATIVE_HEADER_BYTES}), so that opening
   * is served from it whatever max-read-bytes is set to.
   */
  private static ByteSpan firstRead(long weightsLength, long maxReadBytes) {
    long first = Math.max(maxReadBytes, SafetensorsHeader.SPECULATIVE_HEADER_BYTES);
    return new ByteSpan(0, Math.min(weightsLength, first));
  }

  private static boolean inside(ByteSpan outer, ByteSpan span) {
    return outer.contains(span.begin(), span.length());
  }

  private static ByteSpan span(TensorInfo tensor) {
    return new ByteSpan(tensor.absoluteBegin(), tensor.absoluteBegin() + tensor.byteLength());
  }
}
