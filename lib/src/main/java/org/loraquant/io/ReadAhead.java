package org.loraquant.io;

import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.Predicate;

/**
 * Planned byte ranges of one or more files, read one whole range per request and, on a background
 * thread, ahead of the reader: while the reader works on what it read (a layer's compression), the
 * next range is already on its way. On object storage a request costs a round trip whatever its
 * size, so this hides the wait behind the work instead of adding it.
 *
 * <p>The ranges are given in the order the reader will want them (a layer task's layers, adapter
 * after adapter, as they lie in each file). The background starts them in that order, up to
 * {@code parallelReads} at a time (each its own request, so their round trips overlap: many small
 * files cost one wait, not one each), as long as the bytes read ahead and not yet taken, with the
 * reads under way, stay within {@code aheadBytes}; a range larger than that is never read ahead,
 * the reader reads it when it gets there. What the reader holds besides is the one range it is reading from (the current one:
 * taking the next drops it), so a reader holds at most one range plus {@code aheadBytes}.
 *
 * <p>{@link #file} gives a view of a file whose reads inside a planned range are served from
 * memory, others going to the file as they are (like {@link ChunkedInputFile}). A failed read
 * surfaces where the reader asks for its range, as the same exception, and nowhere else: a range
 * of another file, or of the same file, read before or after, is unaffected. A range the reader
 * asks for again after it moved on, or before the background got to it, is read by the reader
 * itself, so any order of reads gives the right bytes; only the planned order gains.
 *
 * <p>{@link #release} ends the reading of one file (its ranges not yet read are cancelled, one
 * under way is waited for), so that whatever counts that file's requests is final; {@link
 * #close} does it for all and returns only when no background read of this object is running.
 *
 * <p>The reader side is meant for one thread (a task); {@link #release} and {@link #close} may be
 * called from another (a task's kill).
 */
public final class ReadAhead implements Closeable {
  /** One planned read: {@code span} of {@code file}. */
  public record Read(InputFile file, ByteSpan span) {}

  private enum State {
    /** Not read, nor planned to be yet. */
    WAITING,
    /** Given to the executor, not started: the reader may still take it over. */
    QUEUED,
    READING,
    READY,
    FAILED,
    /** Taken, dropped or cancelled: asked for again, it is read by the reader. */
    DONE
  }

  private static final class Chunk {
    int index; // its place in chunks; guarded by lock once the object is built
    final InputFile file;
    final ByteSpan span;
    State state = State.WAITING;
    boolean cancelled;
    byte[] bytes;
    Throwable failure;

    Chunk(int index, InputFile file, ByteSpan span) {
      this.index = index;
      this.file = file;
      this.span = span;
    }

    int length() {
      return (int) span.length();
    }
  }

  /** Longer ranges cannot be held in one array; their reads go to the file as they are. */
  private static final long MAX_CHUNK = Integer.MAX_VALUE - 8;

  private final List<Chunk> chunks = new ArrayList<>();
  private final Map<InputFile, List<Chunk>> byFile = new IdentityHashMap<>();
  private final long aheadBytes;
  private final int parallelReads;
  private final Executor executor;
  private final Object lock = new Object();

  // Guarded by lock.
  private long heldAhead; // bytes of QUEUED, READING, READY and FAILED chunks
  private int next; // the first chunk the background may read
  private int backgroundReads; // background reads queued or running, at most parallelReads
  private final Set<Thread> backgroundThreads = new HashSet<>(); // reading now: close interrupts
  private boolean closed;

  // The reader's; one thread.
  private Chunk current;
  private byte[] currentBytes;

  /** One background read at a time: see {@link #ReadAhead(List, long, int, Executor)}. */
  public ReadAhead(List<Read> reads, long aheadBytes, Executor executor) {
    this(reads, aheadBytes, 1, executor);
  }

  /**
   * @param reads the ranges, in the order the reader will want them; each file is known by
   *     identity (pass the same {@link InputFile} to {@link #file} and {@link #release})
   * @param aheadBytes the most bytes read ahead of the reader at once; 0 reads nothing ahead
   * @param parallelReads the most background reads of this object under way at once (at least 1)
   * @param executor runs the background reads; its threads should be daemons, shared by many
   *     readers, and at least {@code parallelReads} of them free to run at once (a cached pool)
   */
  public ReadAhead(List<Read> reads, long aheadBytes, int parallelReads, Executor executor) {
    if (aheadBytes < 0) {
      throw new IllegalArgumentException("negative read-ahead " + aheadBytes);
    }
    if (parallelReads < 1) {
      throw new IllegalArgumentException("parallel reads " + parallelReads + " < 1");
    }
    this.aheadBytes = aheadBytes;
    this.parallelReads = parallelReads;
    this.executor = executor;
    for (Read read : reads) {
      if (read.span().length() <= MAX_CHUNK) {
        Chunk chunk = new Chunk(chunks.size(), read.file(), read.span());
        chunks.add(chunk);
        byFile.computeIfAbsent(read.file(), f -> new ArrayList<>()).add(chunk);
      }
    }
    synchronized (lock) {
      startNext();
    }
  }

  /** {@code file} read through this object: see the class comment. */
  public InputFile file(InputFile file) {
    List<Chunk> mine = byFile.computeIfAbsent(file, f -> new ArrayList<>()); // planAfter adds
    return new InputFile() {
      @Override
      public String location() {
        return file.location();
      }

      @Override
      public long length() throws IOException {
        return file.length();
      }

      @Override
      public void readFully(long position, byte[] buffer, int offset, int len)
          throws IOException {
        // The range at hand first: ranges may overlap (one planned after a first read starts
        // with the layer that read cut), and going back to an earlier one would read it again.
        Chunk chunk =
            current != null && current.file == file && current.span.contains(position, len)
                ? current
                : null;
        for (int i = 0; chunk == null && i < mine.size(); i++) {
          if (mine.get(i).span.contains(position, len)) {
            chunk = mine.get(i);
          }
        }
        if (chunk == null) {
          file.readFully(position, buffer, offset, len);
          return;
        }
        byte[] bytes = take(chunk);
        System.arraycopy(bytes, (int) (position - chunk.span.begin()), buffer, offset, len);
      }
    };
  }

  /**
   * Plans more ranges of {@code file}, found by the reader once it read the first (a file's
   * header tells where the rest of what it needs lies): they come right after that file's last
   * planned range, before any range of the files planned after it, in the order given, and are
   * read ahead like the others (when the ranges already read ahead of the later files leave
   * room; else by the reader when it gets there, one request each as well). Reads through views
   * of {@code file} handed out before see them. From the reader's thread.
   */
  public void planAfter(InputFile file, List<ByteSpan> spans) {
    List<Chunk> mine = byFile.computeIfAbsent(file, f -> new ArrayList<>());
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("ranges of " + file.location() + " planned after close");
      }
      int at = mine.isEmpty() ? chunks.size() : mine.get(mine.size() - 1).index + 1;
      List<Chunk> added = new ArrayList<>();
      for (ByteSpan span : spans) {
        if (span.length() <= MAX_CHUNK) {
          added.add(new Chunk(at + added.size(), file, span));
        }
      }
      chunks.addAll(at, added);
      for (int i = at + added.size(); i < chunks.size(); i++) {
        chunks.get(i).index = i;
      }
      mine.addAll(added);
      // The background's next range is among these, unless the reader went past them already.
      if (next > at && (current == null || current.index < at)) {
        next = at;
      }
      startNext();
    }
  }

  /**
   * The reader is done with {@code file}: its ranges not yet read are not read, one being read in
   * the background is waited for and dropped. Reads through the view still work (by the reader).
   */
  public void release(InputFile file) {
    List<Chunk> mine = byFile.getOrDefault(file, List.of());
    synchronized (lock) {
      for (Chunk c : mine) {
        cancel(c);
      }
      awaitNotReading(mine);
      startNext();
    }
  }

  /**
   * Cancels every read not yet made, interrupts the one under way and returns once it has ended:
   * afterwards this object runs nothing and holds no bytes. Idempotent.
   */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      for (Chunk c : chunks) {
        cancel(c);
      }
      for (Thread reading : backgroundThreads) {
        reading.interrupt();
      }
      awaitNotReading(chunks);
      current = null;
      currentBytes = null;
    }
  }

  /**
   * Waits until every read handed to the background so far has ended (none queued or under way),
   * without cancelling any: whatever counts requests then sees each of them, made exactly once,
   * whatever the timing (the reader may still have taken one over and read it itself).
   */
  public void awaitBackground() {
    synchronized (lock) {
      awaitNone(chunks, c -> c.state == State.QUEUED || c.state == State.READING);
    }
  }

  /** Bytes read ahead and not taken, with the read under way (for tests and metrics). */
  public long bytesAhead() {
    synchronized (lock) {
      return heldAhead;
    }
  }

  // Guarded by lock.
  private void cancel(Chunk c) {
    c.cancelled = true;
    switch (c.state) {
      case QUEUED, READY, FAILED -> {
        heldAhead -= c.length();
        c.bytes = null;
        c.failure = null;
        c.state = State.DONE;
      }
      case WAITING -> c.state = State.DONE;
      default -> {} // READING ends in the background; DONE is done
    }
  }

  // Guarded by lock.
  private void awaitNotReading(List<Chunk> which) {
    awaitNone(which, c -> c.state == State.READING);
  }

  // Guarded by lock. Waits without giving up on an interrupt, which it keeps for the caller.
  private void awaitNone(List<Chunk> which, Predicate<Chunk> busy) {
    boolean interrupted = false;
    while (which.stream().anyMatch(busy)) {
      try {
        lock.wait();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  // Guarded by lock: gives the next ranges that fit to the executor, up to parallelReads at once.
  private void startNext() {
    while (!closed && backgroundReads < parallelReads) {
      while (next < chunks.size() && chunks.get(next).state != State.WAITING) {
        next++;
      }
      if (next == chunks.size()) {
        return;
      }
      Chunk c = chunks.get(next);
      if (heldAhead + c.length() > aheadBytes) {
        return;
      }
      c.state = State.QUEUED;
      heldAhead += c.length();
      backgroundReads++;
      next++;
      executor.execute(() -> readInBackground(c));
    }
  }

  private void readInBackground(Chunk c) {
    synchronized (lock) {
      if (c.state != State.QUEUED) { // taken over by the reader, or cancelled
        backgroundReads--;
        startNext();
        return;
      }
      c.state = State.READING;
      backgroundThreads.add(Thread.currentThread());
    }
    byte[] bytes = null;
    Throwable failure = null;
    try {
      bytes = new byte[c.length()];
      c.file.readFully(c.span.begin(), bytes, 0, bytes.length);
    } catch (Throwable t) { // the reader's to see, where it asks for this range
      failure = t;
    }
    synchronized (lock) {
      backgroundThreads.remove(Thread.currentThread());
      backgroundReads--;
      if (c.cancelled) {
        heldAhead -= c.length();
        c.state = State.DONE;
      } else if (failure != null) {
        c.failure = failure;
        c.state = State.FAILED;
      } else {
        c.bytes = bytes;
        c.state = State.READY;
      }
      lock.notifyAll();
      startNext();
      // An interrupt from close() was meant for this read only, not for what the thread runs next.
      Thread.interrupted();
    }
  }

  /** The bytes of {@code c}, dropping the current range first; reads it here if it must. */
  private byte[] take(Chunk c) throws IOException {
    if (current == c) {
      return currentBytes;
    }
    current = null;
    currentBytes = null;
    boolean readHere;
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("read of " + c.file.location() + " after close");
      }
      dropSkippedBefore(c);
      while (c.state == State.READING) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException(
              "interrupted waiting for bytes " + c.span + " of " + c.file.location());
        }
      }
      if (c.index >= next) {
        next = c.index + 1; // the background goes on after what the reader is at
      }
      readHere = c.state != State.READY && c.state != State.FAILED;
      Throwable failure = c.failure;
      byte[] bytes = c.bytes;
      if (c.state != State.WAITING && c.state != State.DONE) {
        heldAhead -= c.length();
      }
      c.state = State.DONE;
      c.bytes = null;
      c.failure = null;
      startNext();
      if (failure != null) {
        throw rethrown(failure);
      }
      if (!readHere) {
        current = c;
        currentBytes = bytes;
        return bytes;
      }
    }
    byte[] bytes = new byte[c.length()];
    c.file.readFully(c.span.begin(), bytes, 0, bytes.length);
    current = c;
    currentBytes = bytes;
    return bytes;
  }

  // Guarded by lock: ranges read ahead that the reader went past are dropped, freeing their room.
  private void dropSkippedBefore(Chunk c) {
    for (int i = 0; i < c.index; i++) {
      Chunk skipped = chunks.get(i);
      if (skipped.state == State.READY || skipped.state == State.FAILED) {
        heldAhead -= skipped.length();
        skipped.bytes = null;
        skipped.failure = null;
        skipped.state = State.DONE;
      }
    }
  }

  private static IOException rethrown(Throwable failure) {
    if (failure instanceof IOException io) {
      return io;
    }
    if (failure instanceof RuntimeException runtime) {
      throw runtime;
    }
    if (failure instanceof Error error) {
      throw error;
    }
    return new IOException(failure);
  }
}
