package org.loraquant.spark.stage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.util.LongAccumulator;
import org.assertj.core.api.AbstractStringAssert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.loraquant.codec.CodecSettings;
import org.loraquant.hadoop.AdapterDiscovery;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.OutputDiscovery;
import org.loraquant.hadoop.OutputFileIO;
import org.loraquant.io.OwnedFolder;
import org.loraquant.options.JobSetting;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.ExistingOutput;
import org.loraquant.plan.LayerPlanner;
import org.loraquant.plan.LayerTask;
import org.loraquant.plan.LayerWork;
import org.loraquant.plan.RunPlanner;
import org.loraquant.safetensors.DType;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.stats.AdapterStatus;
import org.loraquant.testing.S3BehindFaultProxy;
import org.loraquant.testing.SyntheticAdapter;

/**
 * Reads pinned to the listed ETag on S3 (issue 17): an adapter replaced by a new upload while the
 * run reads it is refused at the first read of the new version, in whichever stage, and is
 * incomplete with nothing written; so assembly no longer lists the folder again on the success
 * path. The stages run without Spark, as the job runs them, against S3Proxy behind a counting
 * proxy; every object is uploaded through the S3 API. Each replacement is an upload of the same
 * size (another adapter of the same shapes), which no size check can see.
 */
class PinnedReadsOnS3Test {
  private static final String WEIGHTS = "adapter_model.safetensors";
  private static final String CHANGED_SUFFIX =
      " while this run was reading the adapter; nothing was written, and the next run"
          + " compresses the new version";

  private static S3BehindFaultProxy s3;

  @TempDir Path temp;

  @BeforeAll
  static void startStore() {
    s3 = S3BehindFaultProxy.start();
  }

  @AfterAll
  static void stopStore() {
    if (s3 != null) {
      s3.close();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"server", "client"})
  void anAdapterReplacedBetweenDiscoveryAndItsLayerReadIsIncompleteWithNothingWritten(String mode)
      throws IOException {
    Store store = new Store(mode, false);
    OpenOutcome opened = store.open();
    assertThat(opened.status()).isEqualTo(AdapterStatus.COMPRESSED);
    store.replaceWeights();

    List<LayerOutcome> layers = store.compressLayers(opened);

    assertThat(layers).isNotEmpty();
    assertThat(layers)
        .allSatisfy(
            layer -> {
              assertThat(layer.errorStatus()).isEqualTo(AdapterStatus.INCOMPLETE);
              assertRewritten(store, layer.error());
            });
    AdapterOutcome outcome = store.assemble(opened, layers);
    assertThat(outcome.status()).isEqualTo(AdapterStatus.INCOMPLETE);
    // Reported as the change, from the listing assembly makes when a layer failed.
    assertRewritten(store, outcome.message()).contains(", now ");
    assertThat(store.outputObjects()).isEmpty();
  }

  /**
   * The message of an adapter refused because its weights were rewritten since discovery: its
   * start and its end; callers may check more of it.
   */
  private static AbstractStringAssert<?> assertRewritten(Store store, String message) {
    return assertThat(message)
        .startsWith(store.location() + ": " + WEIGHTS + " was rewritten (was ")
        .endsWith(CHANGED_SUFFIX);
  }

  @Test
  void anAdapterReplacedBetweenTheOpenStageAndAssemblysPassThroughReadIsIncomplete()
      throws IOException {
    Store store = new Store("server", true);
    OpenOutcome opened = store.open();
    List<LayerOutcome> layers = store.compressLayers(opened);
    assertThat(layers).allSatisfy(layer -> assertThat(layer.error()).isNull());
    store.replaceWeights();

    AdapterOutcome outcome = store.assemble(opened, layers);

    assertThat(outcome.status()).isEqualTo(AdapterStatus.INCOMPLETE);
    assertRewritten(store, outcome.message());
    assertThat(outcome.layers()).isEmpty();
    assertThat(store.outputObjects()).isEmpty();
  }

  @Test
  void anAdapterReplacedBeforeItIsOpenedIsIncompleteAtTheOpenStage() throws IOException {
    Store store = new Store("server", false);
    store.replaceWeights();

    OpenOutcome opened = store.open();

    assertThat(opened.status()).isEqualTo(AdapterStatus.INCOMPLETE);
    assertRewritten(store, opened.message());
    assertThat(opened.openedAdapter()).isNull();
  }

  /** Deleted from the drop folder during the run: incomplete, not a storage fault to retry. */
  @Test
  void anAdapterDeletedBetweenTheOpenStageAndItsLayerReadIsIncompleteWithNothingWritten()
      throws IOException {
    Store store = new Store("server", false);
    OpenOutcome opened = store.open();
    assertThat(opened.status()).isEqualTo(AdapterStatus.COMPRESSED);
    store.fs.delete(new org.apache.hadoop.fs.Path(store.location() + "/" + WEIGHTS), false);

    List<LayerOutcome> layers = store.compressLayers(opened);
    AdapterOutcome outcome = store.assemble(opened, layers);

    assertThat(layers).isNotEmpty();
    assertThat(layers)
        .allSatisfy(
            layer -> {
              assertThat(layer.errorStatus()).isEqualTo(AdapterStatus.INCOMPLETE);
              assertThat(layer.error())
                  .startsWith(store.location() + ": " + WEIGHTS + " was deleted (was ");
            });
    assertThat(outcome.status()).isEqualTo(AdapterStatus.INCOMPLETE);
    assertThat(outcome.message()).contains(WEIGHTS).endsWith(CHANGED_SUFFIX);
    assertThat(store.outputObjects()).isEmpty();
  }

  @Test
  void aSmallAdapterReplacedBeforeItsTaskReadsItWholeIsIncomplete() throws IOException {
    Store store = new Store("server", true);
    store.replaceWeights();
    List<LayerWork> whole = RunPlanner.readWhole(store.context.adapters(), 1L << 20);
    assertThat(whole).as("precondition: the adapter is small").hasSize(1);

    List<LayerOutcome> outcomes = store.compress(whole, Map.of());

    assertThat(outcomes).hasSize(1);
    assertThat(outcomes.get(0).isAdapterOutcome()).isTrue();
    assertThat(outcomes.get(0).errorStatus()).isEqualTo(AdapterStatus.INCOMPLETE);
    AdapterOutcome outcome = store.assemble(null, outcomes);
    assertThat(outcome.status()).isEqualTo(AdapterStatus.INCOMPLETE);
    assertRewritten(store, outcome.message());
    assertThat(store.outputObjects()).isEmpty();
  }

  @Test
  void anAdapterReplacedAfterItsLastReadIsWrittenAsDiscoveredAndTheNextRunCompressesItAgain()
      throws IOException {
    Store store = new Store("server", false); // no pass-through tensor: assembly reads nothing
    OpenOutcome opened = store.open();
    List<LayerOutcome> layers = store.compressLayers(opened);
    store.replaceWeights();

    AdapterOutcome outcome = store.assemble(opened, layers);

    // Every byte it was made from is the discovered version's (pinned reads), so it is written,
    // and recorded as made from that version.
    assertThat(outcome.status()).isEqualTo(AdapterStatus.COMPRESSED);
    Map<String, ExistingOutput> outputs = OutputDiscovery.discover(store.io, store.outputRoot());
    OutputState written =
        ManifestStage.summary(store.io, outputs.get(store.discovered.relativePath()));
    assertThat(written.inputFingerprint()).isEqualTo(store.discovered.fingerprint());
    // The next run lists the new version: another fingerprint, so it compresses the adapter again.
    DiscoveredAdapter next = AdapterDiscovery.discover(store.io, store.inputRoot()).get(0);
    assertThat(next.fingerprint()).isNotEqualTo(store.discovered.fingerprint());
    RunPlanner.Decisions decisions =
        RunPlanner.decide(
            List.of(next),
            Map.of(next.relativePath(), written),
            store.context.settings().fingerprint(),
            false);
    assertThat(decisions.toCompress()).containsOnlyKeys(next.relativePath());
  }

  @Test
  void onS3EveryInputRequestIsAGetAndAssemblyListsNothing() throws IOException {
    Store store = new Store("server", true);
    assertThat(store.io.pinsReads(store.discovered)).isTrue();
    s3.proxy().resetCounts();

    OpenOutcome opened = store.open();
    List<LayerOutcome> layers = store.compressLayers(opened);
    AdapterOutcome outcome = store.assemble(opened, layers);

    assertThat(outcome.status()).isEqualTo(AdapterStatus.COMPRESSED);
    // Open: the config and the header; layers: one merged read; assembly: the pass-through
    // tensor's read and the output's three PUTs, no LIST.
    assertThat(opened.requests().gets()).isEqualTo(2);
    assertThat(outcome.requests().lists()).isZero();
    assertThat(outcome.requests().heads()).isZero();
    assertThat(outcome.requests().gets()).isEqualTo(2);
    assertThat(outcome.requests().writes()).isEqualTo(3);
    List<String> kinds = kinds(store.bucket);
    assertThat(kinds).as("requests: %s", s3.proxy().requestLines()).doesNotContain("LIST", "HEAD");
    assertThat(kinds.stream().filter("GET"::equals).count()).isEqualTo(4);
    assertThat(kinds.stream().filter("PUT"::equals).count()).isEqualTo(3);
  }

  @Test
  void withChangeDetectionOffNothingIsPinnedAndAssemblyListsTheFolderToSeeTheChange()
      throws IOException {
    Store store = new Store("none", false);
    assertThat(store.io.pinsReads(store.discovered)).isFalse();
    OpenOutcome opened = store.open();
    List<LayerOutcome> layers = store.compressLayers(opened);
    store.replaceWeights();

    AdapterOutcome outcome = store.assemble(opened, layers);

    assertThat(outcome.status()).isEqualTo(AdapterStatus.INCOMPLETE);
    assertRewritten(store, outcome.message());
    assertThat(outcome.requests().lists()).isEqualTo(1);
    assertThat(store.outputObjects()).isEmpty();
  }

  /** Each request of {@code bucket} the proxy saw, as LIST (a bucket listing) or its method. */
  private static List<String> kinds(String bucket) {
    return s3.proxy().requestLines().stream()
        .filter(line -> line.contains(" /" + bucket))
        .map(
            line ->
                line.startsWith("GET ") && line.contains("list-type=")
                    ? "LIST"
                    : line.substring(0, line.indexOf(' ')))
        .toList();
  }

  /**
   * One adapter (two LoRA layers, and a pass-through head if asked) uploaded to a fresh bucket,
   * discovered as the driver does, and the run's context, with S3A's change detection in {@code
   * mode} for that bucket.
   */
  private final class Store {
    final String bucket = s3.newBucket("pinned");
    final HadoopFileIO io;
    final FileSystem fs;
    final DiscoveredAdapter discovered;
    final JobContext context;
    final Path replacement; // another version, of the same size

    Store(String mode, boolean withHead) throws IOException {
      Configuration conf = s3.hadoopConfiguration();
      conf.set("fs.s3a.bucket." + bucket + ".change.detection.mode", mode);
      io = new HadoopFileIO(conf);
      fs = io.fileSystem(new org.apache.hadoop.fs.Path(inputRoot()));
      Path first = version(1, withHead);
      replacement = version(2, withHead);
      assertThat(Files.size(replacement.resolve(WEIGHTS)))
          .as("precondition: a replacement of the same size")
          .isEqualTo(Files.size(first.resolve(WEIGHTS)));
      upload(first.resolve("adapter_config.json"));
      upload(first.resolve(WEIGHTS));
      discovered = AdapterDiscovery.discover(io, inputRoot()).get(0);
      Map<String, OwnedFolder.Contents> outputFolders = new HashMap<>();
      outputFolders.put(discovered.relativePath(), OwnedFolder.Contents.ABSENT);
      context =
          new JobContext(
              io,
              OutputFileIO.forScheme(io, "s3a"),
              CodecSettings.defaults(),
              outputRoot(),
              "20261207T010000Z-0a1b2c3d",
              LocalDate.of(2026, 12, 7),
              Map.of(discovered.relativePath(), discovered),
              JobSetting.MAX_READ_BYTES.defaultValue(),
              null,
              outputFolders,
              JobSetting.READ_AHEAD_BYTES.defaultValue(),
              (int) JobSetting.STORAGE_THREADS.defaultValue());
    }

    String inputRoot() {
      return "s3a://" + bucket + "/in";
    }

    String outputRoot() {
      return "s3a://" + bucket + "/out";
    }

    String location() {
      return discovered.location();
    }

    private Path version(long seed, boolean withHead) throws IOException {
      SyntheticAdapter adapter =
          new SyntheticAdapter(seed, 4)
              .linear("base_model.model.layers.0.self_attn.q_proj", 12, 10, 4, DType.F32, false);
      if (withHead) {
        adapter.passThrough("base_model.model.lm_head.weight", DType.F16, 6, 12);
      }
      adapter.linear("base_model.model.layers.0.self_attn.v_proj", 12, 10, 4, DType.F32, false);
      return adapter.writeTo(temp.resolve(bucket + "-v" + seed));
    }

    /** A PUT of the file into the adapter's folder, replacing what is there. */
    private void upload(Path file) throws IOException {
      org.apache.hadoop.fs.Path target =
          new org.apache.hadoop.fs.Path(inputRoot() + "/adapter/" + file.getFileName());
      try (OutputStream out = fs.create(target, true)) {
        out.write(Files.readAllBytes(file));
      }
    }

    /** A new upload of the weights: another adapter of the same shapes. */
    void replaceWeights() throws IOException {
      upload(replacement.resolve(WEIGHTS));
    }

    OpenOutcome open() {
      return OpenStage.open(context, discovered.relativePath());
    }

    /** All the adapter's layers in one task, as the planner makes it for a small adapter. */
    List<LayerOutcome> compressLayers(OpenOutcome opened) {
      return compress(opened.layers(), Map.of(opened.adapter(), opened.openedAdapter()));
    }

    /** The layer stage's outcomes for {@code layers}, planned as one task. */
    List<LayerOutcome> compress(List<LayerWork> layers, Map<String, OpenedAdapter> opened) {
      List<LayerTask> tasks = new LayerPlanner(1, 1000, Long.MAX_VALUE).plan(layers);
      assertThat(tasks).hasSize(1);
      List<LayerOutcome> outcomes = new ArrayList<>();
      LayerStage.compress(context, PlannedTask.of(tasks.get(0), opened), new LongAccumulator(),
              new LongAccumulator())
          .forEachRemaining(outcomes::add);
      return outcomes;
    }

    AdapterOutcome assemble(OpenOutcome opened, List<LayerOutcome> layers) {
      return AssembleStage.assemble(
          context,
          discovered.relativePath(),
          layers,
          opened == null ? null : opened.openedAdapter(),
          new LongAccumulator());
    }

    List<String> outputObjects() throws IOException {
      List<String> objects = new ArrayList<>();
      var listing = fs.listFiles(new org.apache.hadoop.fs.Path("s3a://" + bucket + "/"), true);
      while (listing.hasNext()) {
        String path = listing.next().getPath().toUri().getPath();
        if (!path.startsWith("/in/")) {
          objects.add(path);
        }
      }
      return objects;
    }
  }
}
