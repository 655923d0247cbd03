package org.loraquant.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.loraquant.testing.ByteRange;

/**
 * The read-ahead engine without storage or Spark: the background's reads run when the test says
 * (a queue of runnables), so what is read, in which order and how much is held is exact.
 */
class ReadAheadTest {
  private final QueuedExecutor background = new QueuedExecutor();

  @Test
  void readsThePlannedRangesInOrderOneRequestEachAndServesTheSameBytes() throws IOException {
    RecordingFile f = new RecordingFile("f", 1000);
    RecordingFile g = new RecordingFile("g", 500);
    ReadAhead ahead =
        new ReadAhead(
            List.of(read(f, 0, 300), read(f, 300, 600), read(g, 0, 200)), 10_000, background);
    background.runAll();

    InputFile fr = ahead.file(f);
    InputFile gr = ahead.file(g);
    assertThat(fr.read(10, 20)).isEqualTo(f.slice(10, 20));
    assertThat(fr.read(290, 10)).isEqualTo(f.slice(290, 10));
    assertThat(fr.read(300, 300)).isEqualTo(f.slice(300, 300));
    assertThat(gr.read(150, 50)).isEqualTo(g.slice(150, 50));
    assertThat(gr.read(400, 20)).isEqualTo(g.slice(400, 20)); // outside every range

    assertThat(f.reads()).containsExactly(new ByteRange("f", 0, 300), new ByteRange("f", 300, 300));
    assertThat(g.reads()).containsExactly(new ByteRange("g", 0, 200), new ByteRange("g", 400, 20));
    assertThat(ahead.bytesAhead()).isZero();
  }

  @Test
  void holdsNoMoreThanItsCapAheadOfTheReader() throws IOException {
    RecordingFile f = new RecordingFile("f", 400);
    ReadAhead ahead =
        new ReadAhead(
            List.of(read(f, 0, 100), read(f, 100, 200), read(f, 200, 300), read(f, 300, 400)),
            250,
            background);
    background.runAll();
    // Two ranges fit in 250 bytes, the third would not.
    assertThat(f.reads()).hasSize(2);
    assertThat(ahead.bytesAhead()).isEqualTo(200);

    InputFile reader = ahead.file(f);
    assertThat(reader.read(0, 100)).isEqualTo(f.slice(0, 100)); // taking one makes room for one
    assertThat(background.size()).isEqualTo(1);
    background.runAll();
    assertThat(f.reads()).hasSize(3);
    assertThat(ahead.bytesAhead()).isEqualTo(200);
    assertThat(reader.read(150, 50)).isEqualTo(f.slice(150, 50));
    background.runAll();
    assertThat(reader.read(200, 100)).isEqualTo(f.slice(200, 100));
    background.runAll();
    assertThat(reader.read(300, 100)).isEqualTo(f.slice(300, 100));
    assertThat(f.reads())
        .containsExactly(
            new ByteRange("f", 0, 100),
            new ByteRange("f", 100, 100),
            new ByteRange("f", 200, 100),
            new ByteRange("f", 300, 100));
    assertThat(ahead.bytesAhead()).isZero();
  }

  @Test
  void aRangeLargerThanTheCapIsReadByTheReaderWhenItGetsThere() throws IOException {
    RecordingFile f = new RecordingFile("f", 400);
    ReadAhead ahead = new ReadAhead(List.of(read(f, 0, 400)), 399, background);
    assertThat(background.size()).isZero();

    assertThat(ahead.file(f).read(5, 10)).isEqualTo(f.slice(5, 10));
    assertThat(ahead.file(f).read(300, 100)).isEqualTo(f.slice(300, 100));
    assertThat(f.reads()).containsExactly(new ByteRange("f", 0, 400));
  }

  @Test
  void theReaderTakesOverARangeTheBackgroundHasNotStartedAndAnyOrderGivesTheRightBytes()
      throws IOException {
    RecordingFile f = new RecordingFile("f", 300);
    ReadAhead ahead =
        new ReadAhead(List.of(read(f, 0, 100), read(f, 100, 200), read(f, 200, 300)), 1000,
            background);
    InputFile reader = ahead.file(f);

    assertThat(reader.read(0, 10)).isEqualTo(f.slice(0, 10)); // queued, never run: read here
    background.runAll(); // the stale runnable reads nothing, the next range is read ahead
    assertThat(reader.read(250, 50)).isEqualTo(f.slice(250, 50)); // jumps over range 1
    assertThat(reader.read(120, 10)).isEqualTo(f.slice(120, 10)); // and back
    assertThat(reader.read(0, 10)).isEqualTo(f.slice(0, 10)); // a range asked for again

    assertThat(f.reads())
        .containsExactly(
            new ByteRange("f", 0, 100),
            new ByteRange("f", 100, 100),
            new ByteRange("f", 200, 100),
            new ByteRange("f", 100, 100), // dropped when the reader jumped over it
            new ByteRange("f", 0, 100));
  }

  @Test
  void aFailedReadSurfacesWhereItsRangeIsAskedForAndNowhereElse() throws IOException {
    RecordingFile f = new RecordingFile("f", 300).failingAt(100);
    RecordingFile g = new RecordingFile("g", 100);
    ReadAhead ahead =
        new ReadAhead(
            List.of(read(f, 0, 100), read(f, 100, 200), read(f, 200, 300), read(g, 0, 100)),
            1000,
            background);
    background.runAll();
    InputFile reader = ahead.file(f);

    assertThat(reader.read(0, 100)).isEqualTo(f.slice(0, 100));
    assertThatThrownBy(() -> reader.read(150, 10))
        .isInstanceOf(IOException.class)
        .hasMessage("f: no bytes at 100 today");
    assertThat(reader.read(200, 100)).isEqualTo(f.slice(200, 100));
    assertThat(ahead.file(g).read(0, 100)).isEqualTo(g.slice(0, 100));
    assertThat(ahead.bytesAhead()).isZero();
  }

  /**
   * Ranges found once the first is read (a header saying where the rest lies) come right after
   * their file's, before the next file's, one request each, and a view handed out before sees
   * them; what was read ahead of the next file stays.
   */
  @Test
  void rangesPlannedAfterAFilesFirstAreReadBeforeTheNextFilesAndServedToOldViews()
      throws IOException {
    RecordingFile f = new RecordingFile("f", 1000);
    RecordingFile g = new RecordingFile("g", 100);
    ReadAhead ahead = new ReadAhead(List.of(read(f, 0, 300), read(g, 0, 100)), 350, background);
    background.runAll(); // f's first range and g's, 400 bytes: only f's fits at first
    InputFile fr = ahead.file(f);
    assertThat(fr.read(8, 100)).isEqualTo(f.slice(8, 100)); // f's first range taken
    background.runAll(); // now g's is read ahead
    assertThat(g.reads()).containsExactly(new ByteRange("g", 0, 100));

    ahead.planAfter(f, List.of(new ByteSpan(280, 600), new ByteSpan(600, 1000)));
    background.runAll(); // g's 100 bytes held: no room beside them for f's 320 under 350
    assertThat(fr.read(290, 300)).isEqualTo(f.slice(290, 300));
    background.runAll();
    assertThat(fr.read(600, 400)).isEqualTo(f.slice(600, 400));
    assertThat(ahead.file(g).read(0, 100)).isEqualTo(g.slice(0, 100));

    assertThat(f.reads())
        .containsExactly(
            new ByteRange("f", 0, 300), new ByteRange("f", 280, 320), new ByteRange("f", 600, 400));
    assertThat(g.reads()).containsExactly(new ByteRange("g", 0, 100));
    assertThat(ahead.bytesAhead()).isZero();
  }

  /**
   * A layer that the first read cut is read again with the rest, and its part inside the first
   * read is then served from the range at hand, not by reading the first again.
   */
  @Test
  void aReadInsideTwoOverlappingRangesIsServedFromTheOneAtHand() throws IOException {
    RecordingFile f = new RecordingFile("f", 1000);
    ReadAhead ahead = new ReadAhead(List.of(read(f, 0, 300)), 0, background);
    InputFile fr = ahead.file(f);
    assertThat(fr.read(0, 8)).isEqualTo(f.slice(0, 8));
    ahead.planAfter(f, List.of(new ByteSpan(250, 700)));

    assertThat(fr.read(300, 100)).isEqualTo(f.slice(300, 100)); // the layer's part past 300
    assertThat(fr.read(250, 50)).isEqualTo(f.slice(250, 50)); // its part inside both ranges
    assertThat(fr.read(400, 300)).isEqualTo(f.slice(400, 300));

    assertThat(f.reads()).containsExactly(new ByteRange("f", 0, 300), new ByteRange("f", 250, 450));
  }

  @Test
  void rangesPlannedAfterAreReadAheadWhenThereIsRoomAndReleasedWithTheirFile()
      throws IOException {
    RecordingFile f = new RecordingFile("f", 1000);
    RecordingFile g = new RecordingFile("g", 100);
    ReadAhead ahead = new ReadAhead(List.of(read(f, 0, 300), read(g, 0, 100)), 1000, background);
    background.runAll();
    InputFile fr = ahead.file(f);
    assertThat(fr.read(0, 10)).isEqualTo(f.slice(0, 10));

    ahead.planAfter(f, List.of(new ByteSpan(300, 600), new ByteSpan(600, 1000)));
    assertThat(background.size()).as("reads handed to the background").isEqualTo(1);
    background.runAll(); // both read ahead, one after the other: 800 bytes of 1000
    assertThat(ahead.bytesAhead()).isEqualTo(100 + 300 + 400);
    ahead.release(f);
    assertThat(ahead.bytesAhead()).isEqualTo(100);
    assertThat(f.reads())
        .containsExactly(
            new ByteRange("f", 0, 300), new ByteRange("f", 300, 300), new ByteRange("f", 600, 400));
  }

  @Test
  void releasingAFileCancelsItsRangesNotYetRead() throws IOException {
    RecordingFile f = new RecordingFile("f", 200);
    RecordingFile g = new RecordingFile("g", 100);
    ReadAhead ahead =
        new ReadAhead(List.of(read(f, 0, 100), read(f, 100, 200), read(g, 0, 100)), 1000,
            background);

    ahead.release(f);
    background.runAll();

    assertThat(f.reads()).isEmpty();
    assertThat(g.reads()).containsExactly(new ByteRange("g", 0, 100));
    assertThat(ahead.bytesAhead()).isEqualTo(100);
    // Still readable, by the reader itself.
    assertThat(ahead.file(f).read(0, 10)).isEqualTo(f.slice(0, 10));
  }

  @Test
  void closeInterruptsTheReadUnderWayAndReturnsOnlyWhenItHasEnded() throws Exception {
    ExecutorService threads = Executors.newSingleThreadExecutor();
    try {
      BlockingFile f = new BlockingFile();
      ReadAhead ahead = new ReadAhead(List.of(read(f, 0, 100), read(f, 100, 200)), 1000, threads);
      assertThat(f.started.await(60, TimeUnit.SECONDS)).isTrue();

      ahead.close();

      assertThat(f.ended.get()).isTrue();
      assertThat(f.interrupted.get()).isTrue();
      assertThat(ahead.bytesAhead()).isZero();
      assertThatThrownBy(() -> ahead.file(f).read(0, 10))
          .isInstanceOf(IllegalStateException.class);
      // The pool's thread is free again, its interrupt not carried over to the next job.
      AtomicBoolean interruptedLater = new AtomicBoolean(true);
      threads.submit(() -> interruptedLater.set(Thread.currentThread().isInterrupted())).get();
      assertThat(interruptedLater).isFalse();
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void startsUpToParallelReadsAtOnceWithinTheCap() throws IOException {
    RecordingFile f = new RecordingFile("f", 500);
    ReadAhead ahead =
        new ReadAhead(
            List.of(read(f, 0, 100), read(f, 100, 200), read(f, 200, 300), read(f, 300, 400),
                read(f, 400, 500)),
            350,
            3,
            background);
    // Three may run at once and three fit in 350 bytes: all three are handed out together.
    assertThat(background.size()).isEqualTo(3);
    background.runAll();
    assertThat(f.reads()).hasSize(3);
    assertThat(ahead.bytesAhead()).isEqualTo(300);

    InputFile reader = ahead.file(f);
    assertThat(reader.read(0, 100)).isEqualTo(f.slice(0, 100)); // room for one more, not two
    assertThat(background.size()).isEqualTo(1);
    background.runAll();
    for (int at = 100; at < 500; at += 100) {
      assertThat(reader.read(at, 100)).isEqualTo(f.slice(at, 100));
      background.runAll();
    }
    assertThat(f.reads())
        .containsExactly(
            new ByteRange("f", 0, 100),
            new ByteRange("f", 100, 100),
            new ByteRange("f", 200, 100),
            new ByteRange("f", 300, 100),
            new ByteRange("f", 400, 100));
    assertThat(ahead.bytesAhead()).isZero();
  }

  @Test
  void parallelReadsAreUnderWayTogetherAndTheFirstIsNotReadAlone() throws Exception {
    ExecutorService threads = Executors.newCachedThreadPool();
    try {
      GatedFile f = new GatedFile(300, 3);
      ReadAhead ahead =
          new ReadAhead(List.of(read(f, 0, 100), read(f, 100, 200), read(f, 200, 300)), 1000, 3,
              threads);
      // Each read waits at the gate until all three have started: only reads in flight together
      // get there (one at a time, the first would wait for the others forever).
      assertThat(f.allStarted.await(60, TimeUnit.SECONDS)).isTrue();
      f.gate.countDown();
      InputFile reader = ahead.file(f);
      assertThat(reader.read(0, 100)).isEqualTo(f.slice(0, 100));
      assertThat(reader.read(100, 100)).isEqualTo(f.slice(100, 100));
      assertThat(reader.read(250, 50)).isEqualTo(f.slice(250, 50));
      ahead.close();
      assertThat(f.reads.get()).isEqualTo(3);
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void awaitBackgroundReturnsOnceEveryReadHandedOutHasBeenMade() throws Exception {
    ExecutorService threads = Executors.newCachedThreadPool();
    try {
      RecordingFile f = new RecordingFile("f", 300);
      ReadAhead ahead =
          new ReadAhead(List.of(read(f, 0, 100), read(f, 100, 200), read(f, 200, 300)), 200, 3,
              threads);
      ahead.awaitBackground();
      // Two fit the cap and were handed out: both made, none cancelled; the third waits.
      assertThat(f.reads())
          .containsExactlyInAnyOrder(new ByteRange("f", 0, 100), new ByteRange("f", 100, 100));
      assertThat(ahead.bytesAhead()).isEqualTo(200);
      ahead.close();
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void closeInterruptsEveryReadUnderWay() throws Exception {
    ExecutorService threads = Executors.newCachedThreadPool();
    try {
      GatedFile f = new GatedFile(200, 2);
      ReadAhead ahead = new ReadAhead(List.of(read(f, 0, 100), read(f, 100, 200)), 1000, 2,
          threads);
      assertThat(f.allStarted.await(60, TimeUnit.SECONDS)).isTrue();

      ahead.close(); // the gate never opens: only the interrupts end the two reads

      assertThat(f.interrupted.get()).isEqualTo(2);
      assertThat(ahead.bytesAhead()).isZero();
    } finally {
      threads.shutdownNow();
    }
  }

  private static ReadAhead.Read read(InputFile file, long begin, long end) {
    return new ReadAhead.Read(file, new ByteSpan(begin, end));
  }

  /** Runs the background's reads when the test asks, on the test's thread. */
  private static final class QueuedExecutor implements Executor {
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();

    @Override
    public void execute(Runnable command) {
      queue.add(command);
    }

    int size() {
      return queue.size();
    }

    void runAll() {
      while (!queue.isEmpty()) {
        queue.poll().run();
      }
    }
  }

  /** Bytes i * 7 + length, every read recorded; optionally failing reads from one position. */
  private static final class RecordingFile implements InputFile {
    private final String name;
    private final byte[] bytes;
    private final List<ByteRange> reads = new ArrayList<>();
    private long failingAt = -1;

    RecordingFile(String name, int length) {
      this.name = name;
      bytes = new byte[length];
      for (int i = 0; i < length; i++) {
        bytes[i] = (byte) (i * 7 + length);
      }
    }

    RecordingFile failingAt(long position) {
      failingAt = position;
      return this;
    }

    @Override
    public String location() {
      return name;
    }

    @Override
    public long length() {
      return bytes.length;
    }

    @Override
    public synchronized void readFully(long position, byte[] buffer, int offset, int len)
        throws IOException {
      reads.add(new ByteRange(name, position, len));
      if (position == failingAt) {
        throw new IOException(name + ": no bytes at " + position + " today");
      }
      System.arraycopy(bytes, (int) position, buffer, offset, len);
    }

    synchronized List<ByteRange> reads() {
      return List.copyOf(reads);
    }

    byte[] slice(int from, int length) {
      return Arrays.copyOfRange(bytes, from, from + length);
    }
  }

  /**
   * Bytes i * 7 + length; each read announces it started, then waits for the gate (or an
   * interrupt) before it returns its bytes.
   */
  private static final class GatedFile implements InputFile {
    final CountDownLatch allStarted;
    final CountDownLatch gate = new CountDownLatch(1);
    final AtomicInteger reads = new AtomicInteger();
    final AtomicInteger interrupted = new AtomicInteger();
    private final RecordingFile bytes;

    GatedFile(int length, int readsToWaitFor) {
      bytes = new RecordingFile("gated", length);
      allStarted = new CountDownLatch(readsToWaitFor);
    }

    @Override
    public String location() {
      return "gated";
    }

    @Override
    public long length() {
      return bytes.length();
    }

    @Override
    public void readFully(long position, byte[] buffer, int offset, int len)
        throws IOException {
      reads.incrementAndGet();
      allStarted.countDown();
      try {
        gate.await();
      } catch (InterruptedException e) {
        interrupted.incrementAndGet();
        throw new InterruptedIOException("stopped");
      }
      bytes.readFully(position, buffer, offset, len);
    }

    byte[] slice(int from, int length) {
      return bytes.slice(from, length);
    }
  }

  /** A file whose reads wait until interrupted, as a stuck request would. */
  private static final class BlockingFile implements InputFile {
    final CountDownLatch started = new CountDownLatch(1);
    final AtomicBoolean interrupted = new AtomicBoolean();
    final AtomicBoolean ended = new AtomicBoolean();

    @Override
    public String location() {
      return "blocking";
    }

    @Override
    public long length() {
      return 200;
    }

    @Override
    public void readFully(long position, byte[] buffer, int offset, int len)
        throws IOException {
      started.countDown();
      try {
        new CountDownLatch(1).await();
      } catch (InterruptedException e) {
        interrupted.set(true);
        throw new InterruptedIOException("stopped");
      } finally {
        ended.set(true);
      }
    }
  }
}
