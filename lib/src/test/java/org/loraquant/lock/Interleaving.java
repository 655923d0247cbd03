package org.loraquant.lock;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Two runs, A and B, taking one {@link RunLock} over one store with their store calls in a given
 * order: a deterministic replay of a race. Each run's writes, listings and deletions are its
 * steps; a step runs everything up to the run's next step (reads included), and the order names
 * whose step comes next, e.g. {@code "ABBAAB"}. A step of a run that has finished is skipped; runs
 * with steps left after the order finish A first, then B.
 */
public final class Interleaving {
  /** The run ids that took the lock and those refused, in A, B order. */
  public record Outcome(List<String> holders, List<String> refused) {}

  /** Every order of three steps of A and three of B (what a taker that steps back takes). */
  public static List<String> allOrders() {
    List<String> orders = new ArrayList<>();
    addOrders("", 3, 3, orders);
    return orders;
  }

  private static void addOrders(String prefix, int a, int b, List<String> orders) {
    if (a == 0 && b == 0) {
      orders.add(prefix);
      return;
    }
    if (a > 0) {
      addOrders(prefix + "A", a - 1, b, orders);
    }
    if (b > 0) {
      addOrders(prefix + "B", a, b - 1, orders);
    }
  }

  private Interleaving() {}

  public static Outcome run(String order, LeaseStore shared, Clock clock, Duration ttl)
      throws Exception {
    Taker a = new Taker("run-A", shared, clock, ttl);
    Taker b = new Taker("run-B", shared, clock, ttl);
    a.start();
    b.start();
    a.awaitParked();
    b.awaitParked();
    for (char c : order.toCharArray()) {
      Taker t = c == 'A' ? a : b;
      if (!t.done) {
        t.step();
      }
    }
    for (Taker t : List.of(a, b)) {
      while (!t.done) {
        t.step();
      }
      t.join();
      if (t.failure != null) {
        throw new AssertionError("run " + t.runId + " failed in order " + order, t.failure);
      }
    }
    List<String> holders = new ArrayList<>();
    List<String> refused = new ArrayList<>();
    for (Taker t : List.of(a, b)) {
      (t.held != null ? holders : refused).add(t.runId);
    }
    return new Outcome(holders, refused);
  }

  private static final class Taker extends Thread {
    final String runId;
    final RunLock lock;
    final Semaphore go = new Semaphore(0);
    final Semaphore parked = new Semaphore(0);
    volatile boolean done;
    volatile RunLock.Held held;
    volatile Throwable failure;

    Taker(String runId, LeaseStore shared, Clock clock, Duration ttl) {
      super("interleaving-" + runId);
      this.runId = runId;
      this.lock = new RunLock(new Gated(shared, this), clock, ttl);
      setDaemon(true);
    }

    @Override
    public void run() {
      try {
        held = lock.acquire(runId, "host", 1);
      } catch (LockHeldException refused) {
        held = null;
      } catch (Throwable t) {
        failure = t;
      } finally {
        done = true;
        parked.release();
      }
    }

    /** Called by the run at each step: wait for its turn. */
    void gate() {
      parked.release();
      go.acquireUninterruptibly();
    }

    /** Lets the run take its next step and waits until it reaches the one after, or finishes. */
    void step() throws InterruptedException {
      go.release();
      awaitParked();
    }

    void awaitParked() throws InterruptedException {
      if (!parked.tryAcquire(30, TimeUnit.SECONDS)) {
        throw new AssertionError("run " + runId + " neither took a step nor finished");
      }
    }
  }

  /** The shared store, each write, listing and deletion waiting for its turn. */
  private static final class Gated extends ForwardingLeaseStore {
    private final Taker taker;

    Gated(LeaseStore store, Taker taker) {
      super(store);
      this.taker = taker;
    }

    @Override
    public List<Entry> list() throws IOException {
      taker.gate();
      return super.list();
    }

    @Override
    public void write(String name, byte[] content) throws IOException {
      taker.gate();
      super.write(name, content);
    }

    @Override
    public void delete(String name) throws IOException {
      taker.gate();
      super.delete(name);
    }
  }
}
