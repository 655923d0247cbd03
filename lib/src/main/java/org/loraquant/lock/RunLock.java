package org.loraquant.lock;

import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A lease-based lock over one root, built only from writing a whole file, listing, reading and
 * deleting, so that it works on object stores where nothing can be created-if-absent, renamed or
 * replaced atomically (S3A in Hadoop 3.4.1 has no conditional PUT).
 *
 * <p>Each run writes a lease file of its own, named after the run and a random suffix ({@code
 * lease-20261122T013000Z-3f9a1c2e-5d1e07aa.json}, a {@link Lease} in it), so no two runs ever write
 * the same file. The rules:
 *
 * <ol>
 *   <li><b>Acquire.</b> Write one's own lease file, then list the folder. If the listing shows
 *       another live lease (not past its expiry), the lock is held: delete one's own file and
 *       refuse ({@link LockHeldException} naming the holder). Otherwise the lock is this run's.
 *       On S3 that is one PUT and one LIST, plus one GET per other lease file listed (to read its
 *       expiry), and none when the folder held nothing else.
 *   <li><b>Why two runs never both hold it.</b> Say runs X and Y both hold. Each listed after its
 *       own write had finished. Of the two writes, one finished first, say Y's; X's listing
 *       started after X's write finished, so after Y's: it shows Y's lease, because the store
 *       lists every file written before the listing started (local disks, HDFS, and S3 since
 *       2020: strong list-after-write consistency). Y's lease was there and live (Y holds:
 *       it deletes its file only when it releases the lock, and it renews the lease well before
 *       its expiry), so X stepped back: a contradiction. (Unless Y stalled past its lease without
 *       renewing it: then Y no longer holds the lock, see Takeover.) Nothing here is a check then
 *       a write; the one thing the store must do is list what was written before the listing.
 *   <li><b>What it can do instead: both step back.</b> Two runs whose writes both land before
 *       either one's listing see each other and both refuse: each exits as any refused run does
 *       (exit code 2, one line naming the other run as the holder), having written nothing but
 *       its own lease, which it deletes. Started again, one of them gets the lock.
 *   <li><b>Takeover.</b> A lease past its expiry belongs to a run that was killed or stalled: it
 *       does not stop a run from taking the lock, and the run that takes it deletes it
 *       afterwards, as housekeeping (the stalled holder, should it wake up, finds its lease past
 *       its expiry or gone, and stops: {@link Held#checkOwn}). A run that itself stalled past its
 *       own lease's expiry between its write and its listing tries again with a new file.
 *   <li><b>Renew</b> while the run lasts, well before the expiry (the job renews every third of
 *       the lease), after checking that the file is still one's own; if it is not, the lease was
 *       lost ({@link LeaseLostException}) and the run must stop writing.
 *   <li><b>Release</b> at the end, also on failure: delete one's own file (its name is the
 *       run's alone, so no read first).
 * </ol>
 *
 * <p>Lease files of the earlier numbered form ({@code lease-000000000001.json}), left by a previous
 * version, are read like any other: live until their expiry, deleted as housekeeping after it. (A
 * previous version's run lists only numbered files: do not start one next to this version's.)
 *
 * <p>A file that cannot be read as a lease (being written, or truncated by a crash) counts as a
 * lease that expires one lease duration after its modification time: never taken over early.
 * Expiry is judged by the clock of the run that looks, so hosts' clocks must agree to well within
 * a lease duration (NTP does).
 */
public final class RunLock {
  /** The lock's folder under the root it guards. */
  public static final String FOLDER = "_loraquant_lock";

  /** Lease files: this version's {@code lease-RUN-SUFFIX.json} and older numbered ones. */
  private static final Pattern LEASE_FILE = Pattern.compile("lease-.+\\.json");

  private static final int ATTEMPTS = 3;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final LeaseStore store;
  private final Clock clock;
  private final Duration ttl;

  public RunLock(LeaseStore store, Clock clock, Duration ttl) {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("lease duration must be positive, got " + ttl);
    }
    this.store = store;
    this.clock = clock;
    this.ttl = ttl;
  }

  public Duration ttl() {
    return ttl;
  }

  /** A listed lease: its file, and what it says (or what an unreadable one counts as). */
  private record Listed(String file, Lease lease) {}

  /**
   * Takes the lock for the given holder.
   *
   * @throws LockHeldException when another run holds a live lease
   */
  public Held acquire(String runId, String host, long pid) throws IOException {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      String file = fileName(runId);
      Lease mine = Lease.start(runId, host, pid, clock.instant(), ttl);
      store.write(file, mine.toJson());
      List<Listed> others;
      try {
        others = othersListed(file);
      } catch (IOException | RuntimeException e) {
        // Not left behind to block every run until its expiry: the lock was never this run's.
        withdraw(file, e);
        throw e;
      }
      Instant now = clock.instant();
      Optional<Listed> live = newestLive(others, now);
      if (live.isPresent()) {
        store.delete(file);
        throw new LockHeldException(store.location(), live.get().lease());
      }
      if (mine.expiredAt(now)) {
        // This run stalled past its own lease before listing: another run may have judged it
        // stale and taken the lock. Try again with a fresh file.
        store.delete(file);
        continue;
      }
      for (Listed stale : others) {
        deleteStale(stale.file());
      }
      return new Held(file, mine);
    }
    throw new IOException(
        "could not take the lock "
            + store.location()
            + " in "
            + ATTEMPTS
            + " attempts: this run kept stalling past its lease before it could list the folder");
  }

  /**
   * The other lease files the folder lists, read.
   *
   * @throws IOException also when the listing lacks this run's own file, just written
   */
  private List<Listed> othersListed(String file) throws IOException {
    List<Listed> others = new ArrayList<>();
    boolean ownListed = false;
    for (LeaseStore.Entry entry : store.list()) {
      if (entry.name().equals(file)) {
        ownListed = true;
      } else if (LEASE_FILE.matcher(entry.name()).matches()) {
        Listed other = read(entry);
        if (other != null) {
          others.add(other);
        }
      }
    }
    if (!ownListed) {
      throw new IOException(
          store.location()
              + " did not list the lease file "
              + file
              + " just written: the run lock needs a store that lists what was written before");
    }
    return others;
  }

  /**
   * Housekeeping after a take: an expired lease left behind blocks nothing, so failing to delete
   * it does not fail the take (the next run that takes the lock tries again).
   */
  private void deleteStale(String file) {
    try {
      store.delete(file);
    } catch (IOException | RuntimeException e) {
      // Kept: see above.
    }
  }

  /** Deletes this run's own lease file after a failed take, keeping the failure as the error. */
  private void withdraw(String file, Exception failure) {
    try {
      store.delete(file);
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  /** The listed lease file as a lease; null when it was deleted since the listing. */
  private Listed read(LeaseStore.Entry entry) throws IOException {
    byte[] bytes = store.read(entry.name());
    if (bytes == null) {
      return null;
    }
    Lease lease;
    try {
      lease = Lease.parse(store.location() + "/" + entry.name(), bytes);
    } catch (IllegalArgumentException unreadable) {
      lease =
          new Lease(
              "(unreadable lease file " + entry.name() + ")",
              "unknown",
              -1,
              entry.modified(),
              entry.modified().plus(ttl));
    }
    return new Listed(entry.name(), lease);
  }

  /** The live lease that expires last, if any. */
  private static Optional<Listed> newestLive(List<Listed> leases, Instant now) {
    return leases.stream()
        .filter(l -> !l.lease().expiredAt(now))
        .max(Comparator.comparing((Listed l) -> l.lease().expiresAt()));
  }

  /** A lease file name no other run writes: the run id (file-name safe) and a random suffix. */
  static String fileName(String runId) {
    String safe = runId.replaceAll("[^A-Za-z0-9._-]", "_");
    return "lease-" + safe + "-" + HexFormat.of().formatHex(randomBytes(4)) + ".json";
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  /** The lock as held by this run: renew it while the run lasts, release it at the end. */
  public final class Held implements AutoCloseable {
    private final String file;
    private Lease lease;
    private boolean released;

    private Held(String file, Lease lease) {
      this.file = file;
      this.lease = lease;
    }

    public synchronized Lease lease() {
      return lease;
    }

    /** Where the lease lives, for messages. */
    public String location() {
      return store.location() + "/" + file;
    }

    /**
     * Extends the lease by a full duration from now.
     *
     * @throws LeaseLostException when the file is gone or holds another run's lease
     */
    public synchronized void renew() throws IOException {
      if (released) {
        throw new IllegalStateException("lease " + location() + " was released");
      }
      checkOwn();
      Lease renewed = lease.renewedAt(clock.instant(), ttl);
      store.write(file, renewed.toJson());
      lease = renewed;
    }

    /**
     * Checks that the lease is still this run's and not past its expiry.
     *
     * @throws LeaseLostException if it is not
     */
    public synchronized void checkOwn() throws IOException {
      byte[] bytes = store.read(file);
      Lease stored = null;
      if (bytes != null) {
        try {
          stored = Lease.parse(location(), bytes);
        } catch (IllegalArgumentException e) {
          stored = null;
        }
      }
      if (stored == null || !stored.sameHolder(lease)) {
        throw new LeaseLostException(
            "run "
                + lease.runId()
                + " lost its lock "
                + location()
                + (stored == null ? " (the lease file is gone)" : " to " + stored.describe()));
      }
      if (lease.expiredAt(clock.instant())) {
        throw new LeaseLostException(
            "run "
                + lease.runId()
                + " let its lock "
                + location()
                + " expire at "
                + lease.expiresAt()
                + " without renewing it; another run may have taken it over");
      }
    }

    /**
     * Deletes the lease file; idempotent. One request: the file's name is this run's alone, so
     * whatever is there is this run's (or nothing, when the lease was lost and cleaned up).
     */
    public synchronized void release() throws IOException {
      if (released) {
        return;
      }
      released = true;
      store.delete(file);
    }

    @Override
    public void close() throws IOException {
      release();
    }
  }
}
