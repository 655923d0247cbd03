package org.loraquant.spark.stage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.CodecSettings;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.fleet.ModelShape;
import org.loraquant.format.CompressedFormat;
import org.loraquant.hadoop.AdapterDiscovery;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.OutputFileIO;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.LayerPlanner;
import org.loraquant.plan.LayerTask;
import org.loraquant.plan.LayerWork;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.stats.AdapterStatus;
import scala.Tuple2;

/**
 * A task's storage requests made together ({@link JobContext#storageThreads}): the open stage's
 * and assembly's requests of several adapters are under way at once, shown with a file system
 * whose requests wait at a gate until as many as expected have started (latches, no timing: one at
 * a time, the first would wait for the others until the test gives up); and the results are those
 * of one thread, in the same order.
 */
class StorageThreadsTest {
  @TempDir Path temp;

  @AfterEach
  void openTheGate() {
    GatedFileSystem.gate = null;
  }

  @Test
  void inOrderGivesResultsInTheItemsOrderTakingAtMostThreadsItemsAhead() {
    AtomicInteger taken = new AtomicInteger();
    Iterator<Integer> items =
        new Iterator<>() {
          int next;

          @Override
          public boolean hasNext() {
            return next < 10;
          }

          @Override
          public Integer next() {
            taken.incrementAndGet();
            return next++;
          }
        };
    CountDownLatch threeUnderWay = new CountDownLatch(3);
    Iterator<String> results =
        StorageThreads.inOrder(
            items,
            3,
            i -> {
              threeUnderWay.countDown();
              await(threeUnderWay); // the first three only end once all three have started
              return "item " + i;
            });
    List<String> all = new ArrayList<>();
    all.add(results.next());
    assertThat(taken.get()).isLessThanOrEqualTo(4); // three under way, one more after the first
    results.forEachRemaining(all::add);
    assertThat(all)
        .containsExactly(
            "item 0", "item 1", "item 2", "item 3", "item 4", "item 5", "item 6", "item 7",
            "item 8", "item 9");
  }

  @Test
  void oneThreadRunsTheWorkOnTheCallersThreadAndAFailureSurfacesWhereItsResultIsDue() {
    Thread caller = Thread.currentThread();
    Iterator<Boolean> sameThread =
        StorageThreads.inOrder(List.of(1, 2).iterator(), 1, i -> Thread.currentThread() == caller);
    assertThat(sameThread).toIterable().containsExactly(true, true);

    Iterator<Integer> failing =
        StorageThreads.inOrder(
            List.of(1, 2, 3).iterator(),
            4,
            i -> {
              if (i == 2) {
                throw new IllegalStateException("storage down for item 2");
              }
              return i;
            });
    assertThat(failing.next()).isEqualTo(1);
    assertThatThrownBy(failing::next)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("storage down for item 2");
  }

  @Test
  void theOpenStageOpensATasksAdaptersTogetherEachOnesConfigAndHeaderTogether() throws Exception {
    Fixture f = new Fixture(temp, 3);
    List<OpenOutcome> alone = openAll(f.context(new HadoopFileIO(new Configuration()), 1));

    // 3 adapters x (config, header): all six reads under way at once.
    Gate gate = new Gate(6, path -> path.contains("/in/"));
    GatedFileSystem.gate = gate;
    ExecutorService task = Executors.newSingleThreadExecutor();
    try {
      Future<List<OpenOutcome>> together = task.submit(() -> openAll(f.context(f.gatedIo(), 8)));
      assertThat(gate.started.await(60, TimeUnit.SECONDS)).as("six reads under way").isTrue();
      gate.open.countDown();
      List<OpenOutcome> outcomes = together.get(60, TimeUnit.SECONDS);

      assertThat(outcomes).hasSize(3);
      for (int i = 0; i < 3; i++) {
        OpenOutcome a = alone.get(i);
        OpenOutcome b = outcomes.get(i);
        assertThat(b.adapter()).isEqualTo(a.adapter());
        assertThat(b.status()).isEqualTo(AdapterStatus.COMPRESSED);
        assertThat(b.layers()).isEqualTo(a.layers());
        assertThat(b.openedAdapter().configBytes()).isEqualTo(a.openedAdapter().configBytes());
        assertThat(b.openedAdapter().headerBytes()).isEqualTo(a.openedAdapter().headerBytes());
        assertThat(b.requests()).isEqualTo(a.requests());
      }
    } finally {
      gate.open.countDown();
      task.shutdownNow();
    }
  }

  @Test
  void anAdapterThatCannotOpenIsReportedAsWithOneThread() throws Exception {
    Fixture f = new Fixture(temp, 3);
    Files.writeString(
        f.inputRoot.resolve(f.adapters.get(1).relativePath()).resolve("adapter_config.json"),
        "{\"peft_type\": \"PREFIX_TUNING\"}");
    f.discover();
    List<OpenOutcome> alone = openAll(f.context(new HadoopFileIO(new Configuration()), 1));
    List<OpenOutcome> together = openAll(f.context(new HadoopFileIO(new Configuration()), 8));
    assertThat(together.get(1).status()).isEqualTo(AdapterStatus.FAILED);
    // Its header was read beside the config, always (the same requests on every run).
    assertThat(alone.get(1).requests().gets()).isEqualTo(1);
    assertThat(together.get(1).requests().gets()).isEqualTo(2);
    for (int i = 0; i < 3; i++) {
      assertThat(together.get(i).status()).isEqualTo(alone.get(i).status());
      assertThat(together.get(i).message()).isEqualTo(alone.get(i).message());
    }
  }

  @Test
  void assemblyWritesATasksAdaptersTogetherAndTheSameBytesAsOneThread() throws Exception {
    Fixture f = new Fixture(temp, 3);
    JobContext plain = f.context(new HadoopFileIO(new Configuration()), 1);
    List<Tuple2<String, Tuple2<Iterable<AdapterToAssemble>, Iterable<LayerOutcome>>>> groups =
        f.compressed(plain);
    List<AdapterOutcome> alone = assembleAll(f.inPlace(plain, "alone"), groups);

    // 3 adapters' models: three PUTs under way at once. Into a new folder the model lands before
    // the config (OwnedFolder), each manifest after both.
    Gate gate =
        new Gate(
            3,
            path -> path.contains("/together/") && path.endsWith("/" + CompressedFormat.MODEL_FILE));
    GatedFileSystem.gate = gate;
    ExecutorService task = Executors.newSingleThreadExecutor();
    try {
      JobContext gated = f.inPlace(f.context(f.gatedIo(), 8), "together");
      Future<List<AdapterOutcome>> together = task.submit(() -> assembleAll(gated, groups));
      assertThat(gate.started.await(60, TimeUnit.SECONDS)).as("three writes under way").isTrue();
      gate.open.countDown();
      List<AdapterOutcome> outcomes = together.get(60, TimeUnit.SECONDS);

      assertThat(outcomes).extracting(AdapterOutcome::adapter)
          .isEqualTo(alone.stream().map(AdapterOutcome::adapter).toList());
      assertThat(outcomes).extracting(AdapterOutcome::status)
          .containsOnly(AdapterStatus.COMPRESSED);
      assertThat(outcomes).extracting(AdapterOutcome::requests)
          .isEqualTo(alone.stream().map(AdapterOutcome::requests).toList());
    } finally {
      gate.open.countDown();
      task.shutdownNow();
    }
    Path aloneRoot = temp.resolve("alone");
    Path togetherRoot = temp.resolve("together");
    List<Path> files;
    try (Stream<Path> walk = Files.walk(aloneRoot)) {
      files =
          walk.filter(Files::isRegularFile)
              .filter(p -> !p.getFileName().toString().startsWith(".")) // local checksums
              .sorted()
              .toList();
    }
    assertThat(files).hasSize(9);
    for (Path file : files) {
      Path other = togetherRoot.resolve(aloneRoot.relativize(file));
      if (file.getFileName().toString().endsWith("manifest.json")) {
        assertThat(other).exists(); // its run times differ
      } else {
        assertThat(Files.readAllBytes(other)).as(file.toString()).isEqualTo(Files.readAllBytes(file));
      }
    }
  }

  private static List<OpenOutcome> openAll(JobContext context) {
    List<String> names = new ArrayList<>(new TreeMap<>(context.adapters()).keySet());
    List<OpenOutcome> outcomes = new ArrayList<>();
    OpenStage.openAll(context, names.iterator()).forEachRemaining(outcomes::add);
    return outcomes;
  }

  private static List<AdapterOutcome> assembleAll(
      JobContext context,
      List<Tuple2<String, Tuple2<Iterable<AdapterToAssemble>, Iterable<LayerOutcome>>>> groups) {
    LongAccumulator done = new LongAccumulator();
    List<AdapterOutcome> outcomes = new ArrayList<>();
    AssembleStage.assembleAll(context, groups.iterator(), done).forEachRemaining(outcomes::add);
    assertThat(done.value()).isEqualTo(groups.size());
    return outcomes;
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("not all under way at once");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Requests on paths {@code which} wait here until {@code expected} of them have started. */
  static final class Gate {
    final CountDownLatch started;
    final CountDownLatch open = new CountDownLatch(1);
    final Predicate<String> which;

    Gate(int expected, Predicate<String> which) {
      this.started = new CountDownLatch(expected);
      this.which = which;
    }

    void pass(org.apache.hadoop.fs.Path path) throws IOException {
      if (!which.test(path.toUri().getPath())) {
        return;
      }
      started.countDown();
      try {
        open.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("gate");
      }
    }
  }

  /** The local file system, its reads and creates passing the test's {@link Gate}, if any. */
  public static final class GatedFileSystem extends RawLocalFileSystem {
    static volatile Gate gate;

    @Override
    public URI getUri() {
      return URI.create("file:///");
    }

    @Override
    public FSDataInputStream open(org.apache.hadoop.fs.Path f, int bufferSize) throws IOException {
      Gate g = gate;
      if (g != null) {
        g.pass(f);
      }
      return super.open(f, bufferSize);
    }

    @Override
    public FSDataOutputStream create(
        org.apache.hadoop.fs.Path f,
        FsPermission permission,
        boolean overwrite,
        int bufferSize,
        short replication,
        long blockSize,
        Progressable progress)
        throws IOException {
      Gate g = gate;
      if (g != null) {
        g.pass(f);
      }
      return super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress);
    }
  }

  private static final class Fixture {
    final Path inputRoot;
    final Path temp;
    List<DiscoveredAdapter> adapters;

    Fixture(Path temp, int count) throws IOException {
      this.temp = temp;
      inputRoot = temp.resolve("in");
      new FleetGenerator(new LocalFileIO(), new FleetGenerator.Options(count, ModelShape.TINY, 8, 5))
          .generate(inputRoot.toString());
      discover();
    }

    void discover() throws IOException {
      adapters =
          AdapterDiscovery.discover(new HadoopFileIO(new Configuration()), inputRoot.toUri().toString());
      assertThat(adapters).hasSizeGreaterThanOrEqualTo(3);
    }

    HadoopFileIO gatedIo() {
      Configuration conf = new Configuration();
      conf.set("fs.file.impl", GatedFileSystem.class.getName());
      conf.setBoolean("fs.file.impl.disable.cache", true);
      return new HadoopFileIO(conf);
    }

    JobContext context(HadoopFileIO io, int threads) {
      Map<String, DiscoveredAdapter> byPath = new TreeMap<>();
      adapters.forEach(a -> byPath.put(a.relativePath(), a));
      return new JobContext(
              io,
              OutputFileIO.forScheme(io, "file"),
              CodecSettings.defaults(),
              temp.resolve("out").toUri().toString(),
              "20261207T010000Z-0a1b2c3d",
              LocalDate.of(2026, 12, 7),
              byPath)
          .withStorageThreads(threads);
    }

    /** Written in place (as on an object store), under {@code root}. */
    JobContext inPlace(JobContext c, String root) {
      String out = temp.resolve(root).toUri().toString();
      return new JobContext(
          c.io(),
          new OutputFileIO(c.io(), false),
          c.settings(),
          out.endsWith("/") ? out.substring(0, out.length() - 1) : out,
          c.runId(),
          c.runDate(),
          c.adapters(),
          c.maxReadBytes(),
          c.budget(),
          Map.of(),
          c.readAheadBytes(),
          c.storageThreads());
    }

    /** Each adapter opened and its layers compressed (one task), grouped as assembly gets them. */
    List<Tuple2<String, Tuple2<Iterable<AdapterToAssemble>, Iterable<LayerOutcome>>>> compressed(
        JobContext context) {
      List<OpenOutcome> opens = openAll(context);
      Map<String, OpenedAdapter> opened = new TreeMap<>();
      List<LayerWork> layers = new ArrayList<>();
      for (OpenOutcome o : opens) {
        opened.put(o.adapter(), o.openedAdapter());
        layers.addAll(o.layers());
      }
      List<LayerTask> tasks = new LayerPlanner(1, 100_000, Long.MAX_VALUE).plan(layers);
      Map<String, List<LayerOutcome>> byAdapter = new TreeMap<>();
      for (LayerTask task : tasks) {
        LayerStage.compress(
                context, PlannedTask.of(task, opened), new LongAccumulator(), new LongAccumulator())
            .forEachRemaining(
                o -> byAdapter.computeIfAbsent(o.adapter(), a -> new ArrayList<>()).add(o));
      }
      List<Tuple2<String, Tuple2<Iterable<AdapterToAssemble>, Iterable<LayerOutcome>>>> groups =
          new ArrayList<>();
      for (OpenOutcome o : opens) {
        groups.add(
            new Tuple2<>(
                o.adapter(),
                new Tuple2<>(
                    List.of(new AdapterToAssemble(o.openedAdapter(), o.requests())),
                    byAdapter.get(o.adapter()))));
      }
      return groups;
    }
  }
}
