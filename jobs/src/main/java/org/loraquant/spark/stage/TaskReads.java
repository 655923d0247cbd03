package org.loraquant.spark.stage;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;
import org.loraquant.hadoop.RequestCounter;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.io.ByteSpan;
import org.loraquant.io.InputFile;
import org.loraquant.io.ReadAhead;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.LayerWork;
import org.loraquant.safetensors.TensorInfo;

/**
 * What a layer task reads, planned at its start: for each adapter it holds layers of (in the
 * task's order), the byte ranges of those layers' factors merged into reads of at most {@link
 * JobContext#maxReadBytes} (a range never ends between a layer's two factors), all of them read in
 * order through one {@link ReadAhead}, so the next read is under way while a layer compresses
 * (at most {@link JobContext#readAheadBytes} ahead). The config and header came with the task (the
 * open stage read them): the task reads nothing but tensors.
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
  /** Daemon threads shared by the tasks of this JVM; an idle one ends after a minute. */
  private static final ExecutorService BACKGROUND =
      Executors.newCachedThreadPool(
          new ThreadFactory() {
            private final AtomicInteger count = new AtomicInteger();

            @Override
            public Thread newThread(Runnable r) {
              Thread t = new Thread(r, "loraquant-read-ahead-" + count.incrementAndGet());
              t.setDaemon(true);
              return t;
            }
          });

  private static final class AdapterReads {
    final RequestCounter counter = new RequestCounter();
    StorageRequests countedSoFar = StorageRequests.NONE;
    InputFile weights;
    PeftAdapter adapter;
    RuntimeException openFailure;
  }

  private final Map<String, AdapterReads> adapters;
  private final ReadAhead readAhead;

  private TaskReads(Map<String, AdapterReads> adapters, ReadAhead readAhead) {
    this.adapters = adapters;
    this.readAhead = readAhead;
  }

  /** Plans the task's reads and starts reading ahead; closed with the Spark task, if any. */
  static TaskReads open(JobContext context, PlannedTask planned) {
    Map<String, AdapterReads> adapters = new LinkedHashMap<>();
    Map<String, List<ByteSpan>> spans = new LinkedHashMap<>();
    for (LayerWork work : planned.task().layers()) {
      AdapterReads reads = adapters.get(work.adapter());
      if (reads == null) {
        reads = new AdapterReads();
        adapters.put(work.adapter(), reads);
        spans.put(work.adapter(), new ArrayList<>());
        try {
          OpenedAdapter opened = planned.adapter(work.adapter());
          reads.weights = opened.weightsFile(context.io().counting(reads.counter));
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
    List<ReadAhead.Read> plannedReads = new ArrayList<>();
    spans.forEach(
        (name, mine) -> {
          InputFile weights = adapters.get(name).weights;
          for (ByteSpan read : ByteSpan.merge(mine, context.maxReadBytes())) {
            plannedReads.add(new ReadAhead.Read(weights, read));
          }
        });
    ReadAhead readAhead = new ReadAhead(plannedReads, context.readAheadBytes(), BACKGROUND);
    TaskReads reads = new TaskReads(adapters, readAhead);
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

  private static ByteSpan span(TensorInfo tensor) {
    return new ByteSpan(tensor.absoluteBegin(), tensor.absoluteBegin() + tensor.byteLength());
  }
}
