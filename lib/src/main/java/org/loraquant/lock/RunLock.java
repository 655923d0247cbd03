package org.loraquant.lock;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A lease-based lock over one root, built only from creating a file if absent, listing, reading
 * and deleting, so that it works on object stores where nothing can be renamed or replaced
 * atomically.
 *
 * <p>Leases are numbered files, {@code lease-000000000001.json}, ... (a {@link Lease} each). The
 * rules:
 *
 * <ol>
 *   <li><b>Acquire.</b> List the folder. If any lease is live (not past its expiry), the lock is
 *       held: refuse ({@link LockHeldException} naming the holder). Otherwise create the next
 *       number, one above the highest listed, if absent; losing that race means another run just
 *       took it: list again (it is now live, so refuse).
 *   <li><b>Re-check.</b> After creating, list and read again: if another live lease exists (a run
 *       that took an expired lease at the same time under another number), or the file just
 *       created holds someone else's lease (a store without a create-if-absent, where the last
 *       writer wins), step back: delete one's own file and refuse. Of two runs that create at
 *       the same moment at least one steps back, and the one that proceeds has seen every lease
 *       created before its re-check: where the create-if-absent is atomic (HDFS, local disks),
 *       two runs never both hold the lock. Where it is a check then a write (S3A in Hadoop 3.4.1:
 *       a HEAD, then a PUT), both could, if one run's write and re-check fell between the other's
 *       check and its write (README, "What a rerun does").
 *   <li><b>Takeover.</b> A lease past its expiry belongs to a run that was killed or stalled: it
 *       is never deleted to make room (the holder may be renewing it this instant), a new number
 *       is created over it. Expired leases with lower numbers are deleted after a successful
 *       acquisition, as housekeeping.
 *   <li><b>Renew</b> while the run lasts, well before the expiry (the job renews every third of
 *       the lease), after checking that the file is still one's own; if it is not, the lease was
 *       lost ({@link LeaseLostException}) and the run must stop writing.
 *   <li><b>Release</b> at the end, also on failure: delete one's own file.
 * </ol>
 *
 * <p>A file that cannot be read as a lease (being written, or truncated by a crash) counts as a
 * lease that expires one lease duration after its modification time: never taken over early.
 * Expiry is judged by the clock of the run that looks, so hosts' clocks must agree to well within
 * a lease duration (NTP does).
 */
public final class RunLock {
  /** The lock's folder under the root it guards. */
  public static final String FOLDER = "_loraquant_lock";

  private static final Pattern LEASE_FILE = Pattern.compile("lease-(\\d{12})\\.json");
  private static final int ATTEMPTS = 3;

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

  /** A listed lease: its number, its file, and what it says (or what an unreadable one counts as). */
  private record Numbered(long number, String file, Lease lease) {}

  /**
   * Takes the lock for the given holder.
   *
   * @throws LockHeldException when another run holds a live lease
   */
  public Held acquire(String runId, String host, long pid) throws IOException {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      List<Numbered> leases = leases();
      Optional<Numbered> live = newestLive(leases, clock.instant(), null);
      if (live.isPresent()) {
        throw new LockHeldException(store.location(), live.get().lease());
      }
      long number = leases.stream().mapToLong(Numbered::number).max().orElse(0) + 1;
      String file = fileName(number);
      Lease mine = Lease.start(runId, host, pid, clock.instant(), ttl);
      if (!store.createIfAbsent(file, mine.toJson())) {
        continue; // another run created this number first: the next listing shows its lease
      }
      List<Numbered> after = leases();
      Numbered own = after.stream().filter(n -> n.file().equals(file)).findFirst().orElse(null);
      if (own == null || !own.lease().sameHolder(mine)) {
        // The store let another writer replace the file (no create-if-absent): it is theirs.
        if (own != null) {
          throw new LockHeldException(store.location(), own.lease());
        }
        continue;
      }
      Optional<Numbered> rival = newestLive(after, clock.instant(), file);
      if (rival.isPresent()) {
        store.delete(file);
        throw new LockHeldException(store.location(), rival.get().lease());
      }
      for (Numbered old : after) {
        if (old.number() < number && old.lease().expiredAt(clock.instant())) {
          store.delete(old.file());
        }
      }
      return new Held(file, mine);
    }
    throw new IOException(
        "could not take the lock "
            + store.location()
            + " in "
            + ATTEMPTS
            + " attempts: other runs keep creating leases there");
  }

  /** The lease files in the folder, in number order; other files are ignored. */
  private List<Numbered> leases() throws IOException {
    List<Numbered> leases = new ArrayList<>();
    for (LeaseStore.Entry entry : store.list()) {
      Matcher m = LEASE_FILE.matcher(entry.name());
      if (!m.matches()) {
        continue;
      }
      byte[] bytes = store.read(entry.name());
      if (bytes == null) {
        continue; // released since the listing
      }
      Lease lease;
      try {
        lease = Lease.parse(store.location() + "/" + entry.name(), bytes);
      } catch (IllegalArgumentException unreadable) {
        lease = new Lease("(unreadable lease file " + entry.name() + ")", "unknown", -1,
            entry.modified(), entry.modified().plus(ttl));
      }
      leases.add(new Numbered(Long.parseLong(m.group(1)), entry.name(), lease));
    }
    leases.sort(Comparator.comparingLong(Numbered::number));
    return leases;
  }

  private static Optional<Numbered> newestLive(List<Numbered> leases, Instant now, String except) {
    Numbered newest = null;
    for (Numbered n : leases) {
      if (!n.file().equals(except) && !n.lease().expiredAt(now)) {
        newest = n;
      }
    }
    return Optional.ofNullable(newest);
  }

  static String fileName(long number) {
    return String.format(java.util.Locale.ROOT, "lease-%012d.json", number);
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
      store.replace(file, renewed.toJson());
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

    /** Deletes the lease file if it is still this run's; idempotent. */
    public synchronized void release() throws IOException {
      if (released) {
        return;
      }
      released = true;
      byte[] bytes = store.read(file);
      if (bytes == null) {
        return;
      }
      try {
        if (!Lease.parse(location(), bytes).sameHolder(lease)) {
          return; // taken over by another run: its lease now, not ours to delete
        }
      } catch (IllegalArgumentException unreadable) {
        return;
      }
      store.delete(file);
    }

    @Override
    public void close() throws IOException {
      release();
    }
  }
}
