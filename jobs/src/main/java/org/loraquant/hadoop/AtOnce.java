package org.loraquant.hadoop;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A few storage calls made at once, each on its own thread, for the driver's requests that do not
 * depend on each other (the two roots' locks, the two stats tables' commits): on S3 each waits
 * for a round trip, so made one after another their waits add up.
 */
public final class AtOnce {
  private AtOnce() {}

  /** What one call returned or threw. */
  public record Outcome<T>(T value, Exception failure) {}

  /** A storage call on one item. */
  public interface Call<I, T> {
    T apply(I item) throws IOException;
  }

  /**
   * Calls {@code call} on each item, each on its own thread (the caller's for the last), and
   * returns when every call has ended (an interrupt does not cut the wait short: no call is left
   * running behind the caller's back), with what each returned or threw, in the items' order.
   */
  public static <I, T> List<Outcome<T>> call(List<I> items, Call<I, T> call) {
    List<Outcome<T>> outcomes = new ArrayList<>();
    if (items.isEmpty()) {
      return outcomes;
    }
    ExecutorService others = Executors.newCachedThreadPool(daemons("loraquant-at-once"));
    try {
      List<Future<Outcome<T>>> started = new ArrayList<>();
      for (I item : items.subList(0, items.size() - 1)) {
        started.add(others.submit(() -> outcome(call, item)));
      }
      Outcome<T> last = outcome(call, items.get(items.size() - 1));
      for (Future<Outcome<T>> future : started) {
        outcomes.add(awaitUninterruptibly(future));
      }
      outcomes.add(last);
      return outcomes;
    } finally {
      others.shutdown();
    }
  }

  /** Daemon threads named {@code prefix-N}: storage calls never keep a JVM alive. */
  public static ThreadFactory daemons(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * Throws the failure of the first item that failed, the later ones' added to it as suppressed;
   * nothing when none failed.
   */
  public static void throwFirstFailure(List<? extends Outcome<?>> outcomes) throws IOException {
    Exception first = null;
    for (Outcome<?> outcome : outcomes) {
      if (outcome.failure() == null) {
        continue;
      }
      if (first == null) {
        first = outcome.failure();
      } else {
        first.addSuppressed(outcome.failure());
      }
    }
    if (first instanceof IOException e) {
      throw e;
    }
    if (first != null) {
      throw (RuntimeException) first;
    }
  }

  private static <I, T> Outcome<T> outcome(Call<I, T> call, I item) {
    try {
      return new Outcome<>(call.apply(item), null);
    } catch (IOException | RuntimeException e) {
      return new Outcome<>(null, e);
    }
  }

  private static <T> T awaitUninterruptibly(Future<T> future) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return future.get();
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          throw new IllegalStateException("a storage call threw past its outcome", e.getCause());
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
