package org.loraquant.spark.stage;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;
import org.loraquant.hadoop.AtOnce;

/**
 * A task's storage requests made together instead of one after another ({@link
 * JobContext#storageThreads}): on object storage each request waits a round trip whatever its
 * size, so a task that opens or writes several adapters waits for one round trip, not one each.
 *
 * <p>{@link #inOrder} runs one piece of work per item (an adapter to open, an adapter to write) on
 * threads of its own, at most {@code threads} at once, and gives the results in the items' order,
 * so what the stage returns is the same whatever the timing. Items are taken from the source by
 * the caller's thread only, at most {@code threads} ahead of the result it is waiting for, so a
 * task holds no more than that many items at once. With one thread the work runs on the caller's
 * thread, one item after another, as a plain loop would.
 *
 * <p>The work is expected to turn an item's own failures into its result (the stages do: a failed
 * or incomplete row); what it throws (a storage failure, for Spark to retry the task) is thrown to
 * the caller where that item's result is due, as it is, and the work not yet done is stopped. The
 * threads are daemons and end with the iteration: when it is exhausted or fails, and when the Spark
 * task ends (a kill included), through its completion listener; closing interrupts work under way
 * and waits for it to end, so nothing of a killed task goes on writing.
 */
final class StorageThreads {
  /**
   * Daemon threads shared by the tasks of this JVM, for requests whose caller waits for them (a
   * read-ahead's reads, an adapter's files written together); an idle one ends after a minute.
   */
  static final ExecutorService SHARED = Executors.newCachedThreadPool(AtOnce.daemons("loraquant-storage"));

  private StorageThreads() {}

  /** {@code work} applied to each item of {@code items}, up to {@code threads} at once. */
  static <T, R> Iterator<R> inOrder(Iterator<T> items, int threads, Function<T, R> work) {
    if (threads <= 1) {
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return items.hasNext();
        }

        @Override
        public R next() {
          return work.apply(items.next());
        }
      };
    }
    return new Window<>(items, threads, work);
  }

  /** The work of up to {@code threads} items under way, their results handed out in order. */
  private static final class Window<T, R> implements Iterator<R> {
    private final Iterator<T> items;
    private final int threads;
    private final Function<T, R> work;
    private final ArrayDeque<Future<R>> underWay = new ArrayDeque<>();
    private ExecutorService pool;

    Window(Iterator<T> items, int threads, Function<T, R> work) {
      this.items = items;
      this.threads = threads;
      this.work = work;
    }

    @Override
    public boolean hasNext() {
      fill();
      if (underWay.isEmpty()) {
        close();
        return false;
      }
      return true;
    }

    @Override
    public R next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Future<R> first = underWay.poll();
      try {
        R result = first.get();
        fill();
        return result;
      } catch (InterruptedException e) {
        close();
        Thread.currentThread().interrupt();
        throw new CancellationException("interrupted waiting for a storage request");
      } catch (ExecutionException e) {
        close();
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException runtime) {
          throw runtime;
        }
        if (cause instanceof Error error) {
          throw error;
        }
        throw new IllegalStateException(cause);
      } catch (RuntimeException | Error e) {
        close();
        throw e;
      }
    }

    private void fill() {
      while (underWay.size() < threads && items.hasNext()) {
        T item = items.next();
        underWay.add(pool().submit(() -> work.apply(item)));
      }
    }

    private ExecutorService pool() {
      if (pool == null) {
        pool = Executors.newFixedThreadPool(threads, AtOnce.daemons("loraquant-task-storage"));
        TaskContext task = TaskContext.get();
        if (task != null) {
          TaskCompletionListener closeAtEnd = done -> close();
          task.addTaskCompletionListener(closeAtEnd);
        }
      }
      return pool;
    }

    /** Stops the work not yet done, interrupts what is under way and waits for it to end. */
    private synchronized void close() {
      if (pool == null) {
        return;
      }
      pool.shutdownNow();
      boolean interrupted = Thread.interrupted();
      try {
        while (!pool.awaitTermination(1, TimeUnit.MINUTES)) {
          // A request ends within its own timeout; a killed task's writes must not outlive it.
        }
      } catch (InterruptedException e) {
        interrupted = true;
      } finally {
        underWay.clear();
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
