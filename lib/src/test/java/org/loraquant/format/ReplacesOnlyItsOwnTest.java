package org.loraquant.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.AdapterDecompressor;
import org.loraquant.compress.CompressionManifest;
import org.loraquant.compress.CompressionResult;
import org.loraquant.compress.OutputDType;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.io.FileIO;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.FailingFileIO;
import org.loraquant.testing.ForwardingFileIO;
import org.loraquant.testing.SyntheticAdapter;

/**
 * The writers replace only what they can prove is their own: their own files in the target, never
 * a user's file, another adapter's output nested inside, or a folder they did not write.
 */
class ReplacesOnlyItsOwnTest {
  @TempDir Path tmp;
  private Path source;
  private CompressionResult result;
  private byte[] manifest;

  /** Runs the writes a writer makes together, for the tests that give it one. */
  private final ExecutorService together = Executors.newCachedThreadPool();

  @AfterEach
  void stopTogether() {
    together.shutdownNow();
  }

  @BeforeEach
  void compress() throws IOException {
    source = new SyntheticAdapter(3, 4).linear(CompressedFixture.MODULE, 20, 12, 4, DType.F32, false)
        .writeTo(tmp.resolve("source"));
    result = AdapterCompressor.compress(
        PeftAdapterReader.open(new LocalFileIO(), source.toString()), CompressedFixture.SETTINGS);
    manifest = CompressionManifest.of(result, null, Map.of()).toJson(CompressedFixture.SETTINGS);
  }

  private static FileIO io(boolean atomic) {
    return atomic ? new LocalFileIO() : FailingFileIO.failingOnCreate(-1, false);
  }

  @ParameterizedTest(name = "atomic rename {0}")
  @ValueSource(booleans = {true, false})
  void compressedOutputKeepsEverythingElseInItsFolder(boolean atomic) throws IOException {
    Path out = tmp.resolve("out");
    Files.createDirectories(out.resolve("nested"));
    Files.writeString(out.resolve("keep.txt"), "mine");
    Files.writeString(out.resolve("nested/notes.txt"), "mine too");
    Map<Path, byte[]> before = snapshot(out);

    CompressedAdapterWriter.write(io(atomic), out.toString(), result.adapter(), manifest);
    CompressedAdapterWriter.write(io(atomic), out.toString(), result.adapter(), manifest);

    assertThat(entries(out)).containsExactly(CompressedFormat.CONFIG_FILE, "keep.txt",
        CompressedFormat.MANIFEST_FILE, CompressedFormat.MODEL_FILE, "nested");
    before.forEach((file, bytes) -> assertThat(file).hasBinaryContent(bytes));
    assertThat(out.resolve(CompressedFormat.MODEL_FILE))
        .hasBinaryContent(CompressedAdapterWriter.modelBytes(result.adapter()));
    assertThat(CompressedAdapterReader.isComplete(new LocalFileIO(), out.toString())).isTrue();
  }

  /**
   * In place with the model and config written together: the same files and bytes; a failure of
   * either write surfaces as itself and leaves no completion marker (the manifest waits for both).
   */
  @ParameterizedTest(name = "failing create {0}")
  @ValueSource(ints = {0, 1, 2})
  void filesWrittenTogetherStillEndWithTheMarkerOrWithout(int failingCreate) throws Exception {
    Path out = tmp.resolve("out");
    FileIO io = FailingFileIO.failingOnCreate(failingCreate == 0 ? -1 : failingCreate, false);
    if (failingCreate == 0) {
      CompressedAdapterWriter.write(
          io, out.toString(), result.adapter(), manifest, null, together);
      assertThat(entries(out)).containsExactly(CompressedFormat.CONFIG_FILE,
          CompressedFormat.MANIFEST_FILE, CompressedFormat.MODEL_FILE);
      assertThat(out.resolve(CompressedFormat.MODEL_FILE))
          .hasBinaryContent(CompressedAdapterWriter.modelBytes(result.adapter()));
      assertThat(out.resolve(CompressedFormat.CONFIG_FILE))
          .hasBinaryContent(CompressedAdapterWriter.configBytes(result.adapter()));
      assertThat(out.resolve(CompressedFormat.MANIFEST_FILE)).hasBinaryContent(manifest);
      assertThat(CompressedAdapterReader.isComplete(new LocalFileIO(), out.toString())).isTrue();
    } else {
      assertThatThrownBy(
              () ->
                  CompressedAdapterWriter.write(
                      io, out.toString(), result.adapter(), manifest, null, together))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith("injected failure writing ");
      assertThat(out.resolve(CompressedFormat.MANIFEST_FILE)).doesNotExist();
      assertThat(CompressedAdapterReader.isComplete(new LocalFileIO(), out.toString())).isFalse();
    }
  }

  /**
   * On an object store a failed PUT leaves nothing. Written together into a new folder, the model
   * could fail while the config lands: a folder holding only adapter_config.json is not provably
   * ours, and every rerun would refuse it. So the model lands alone first there, and after the
   * failure a rerun writes the output (here the model's PUT fails once a write of another file has
   * begun, or after two seconds when none does).
   */
  @Test
  void aFailedModelPutIntoANewFolderLeavesNothingThatARerunRefuses() throws Exception {
    Path out = tmp.resolve("out");
    FailingPutFileIO io = new FailingPutFileIO(CompressedFormat.MODEL_FILE);
    assertThatThrownBy(
            () ->
                CompressedAdapterWriter.write(
                    io, out.toString(), result.adapter(), manifest, null, together))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("injected failed PUT of ");
    assertThat(io.othersStarted()).as("writes begun beside the failing model").isZero();
    assertThat(out.resolve(CompressedFormat.CONFIG_FILE)).doesNotExist();

    CompressedAdapterWriter.write(
        new FailingPutFileIO(null), out.toString(), result.adapter(), manifest, null, together);
    assertThat(CompressedAdapterReader.isComplete(new LocalFileIO(), out.toString())).isTrue();
    assertThat(out.resolve(CompressedFormat.MODEL_FILE))
        .hasBinaryContent(CompressedAdapterWriter.modelBytes(result.adapter()));
  }

  /** Replacing our own output (the old model stands) still writes model and config together. */
  @Test
  void replacingOurOutputWritesModelAndConfigTogether() throws Exception {
    Path out = tmp.resolve("out");
    CompressedAdapterWriter.write(io(false), out.toString(), result.adapter(), manifest);
    FailingPutFileIO io = new FailingPutFileIO(CompressedFormat.MODEL_FILE);
    assertThatThrownBy(
            () ->
                CompressedAdapterWriter.write(
                    io, out.toString(), result.adapter(), manifest, null, together))
        .isInstanceOf(IOException.class);
    assertThat(io.othersStarted()).as("the config's write beside the model's").isOne();
    assertThat(out.resolve(CompressedFormat.MODEL_FILE)).exists();
    assertThat(CompressedAdapterReader.isComplete(new LocalFileIO(), out.toString())).isFalse();

    CompressedAdapterWriter.write(
        new FailingPutFileIO(null), out.toString(), result.adapter(), manifest, null, together);
    assertThat(CompressedAdapterReader.isComplete(new LocalFileIO(), out.toString())).isTrue();
  }

  /**
   * Writes in place like an object store: a file appears whole when its stream closes (its PUT),
   * and the PUT of {@code failing} fails leaving nothing, once a write of another file has begun
   * or two seconds have passed.
   */
  private static final class FailingPutFileIO extends ForwardingFileIO {
    private final String failing;
    private final java.util.concurrent.atomic.AtomicInteger othersStarted =
        new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.CountDownLatch anotherBegun =
        new java.util.concurrent.CountDownLatch(1);

    FailingPutFileIO(String failing) {
      this.failing = failing;
    }

    int othersStarted() {
      return othersStarted.get();
    }

    @Override
    public org.loraquant.io.OutputFile newOutputFile(String path) {
      boolean fails = failing != null && path.endsWith("/" + failing);
      org.loraquant.io.OutputFile file = local.newOutputFile(path);
      return new org.loraquant.io.OutputFile() {
        @Override
        public String location() {
          return file.location();
        }

        @Override
        public java.io.OutputStream create() {
          if (!fails) {
            othersStarted.incrementAndGet();
            anotherBegun.countDown();
          }
          return new java.io.ByteArrayOutputStream() {
            @Override
            public void close() throws IOException {
              if (fails) {
                try {
                  anotherBegun.await(2, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                throw new IOException("injected failed PUT of " + path);
              }
              try (java.io.OutputStream put = file.create()) {
                put.write(toByteArray());
              }
            }
          };
        }
      };
    }

    @Override
    public boolean atomicDirectoryRename() {
      return false;
    }
  }

  @Test
  void replacingAnOutputKeepsTheOutputOfAnAdapterNestedInside() throws IOException {
    Path outer = tmp.resolve("out/a");
    Path inner = outer.resolve("b");
    CompressedAdapterWriter.write(new LocalFileIO(), outer.toString(), result.adapter(), manifest);
    CompressedAdapterWriter.write(new LocalFileIO(), inner.toString(), result.adapter(), manifest);
    Map<Path, byte[]> innerBefore = snapshot(inner);

    CompressedAdapterWriter.write(new LocalFileIO(), outer.toString(), result.adapter(), manifest);

    innerBefore.forEach((file, bytes) -> assertThat(file).hasBinaryContent(bytes));
    assertThat(entries(outer)).contains("b", CompressedFormat.MANIFEST_FILE);
    assertThat(entries(tmp.resolve("out"))).containsExactly("a");
  }

  @ParameterizedTest(name = "atomic rename {0}")
  @ValueSource(booleans = {true, false})
  void aPeftAdapterFolderIsRefusedAndLeftAsItIs(boolean atomic) throws IOException {
    Map<Path, byte[]> before = snapshot(source);
    assertThatThrownBy(() ->
        CompressedAdapterWriter.write(io(atomic), source.toString(), result.adapter(), manifest))
        .isInstanceOf(LoraQuantException.class)
        .hasMessageContaining(source.toString())
        .hasMessageContaining("not an output of compress");
    assertThatThrownBy(() ->
        AdapterDecompressor.write(io(atomic), source.toString(), result.adapter(), OutputDType.SAME))
        .isInstanceOf(LoraQuantException.class)
        .hasMessageContaining("not an output of decompress");
    assertThat(snapshot(source)).containsOnlyKeys(before.keySet());
    before.forEach((file, bytes) -> assertThat(file).hasBinaryContent(bytes));
  }

  @ParameterizedTest(name = "atomic rename {0}")
  @ValueSource(booleans = {true, false})
  void aRegularFileAsTargetIsRefusedAndKept(boolean atomic) throws IOException {
    Path file = Files.writeString(tmp.resolve("file.txt"), "keep");
    assertThatThrownBy(() ->
        CompressedAdapterWriter.write(io(atomic), file.toString(), result.adapter(), manifest))
        .isInstanceOf(LoraQuantException.class).hasMessageContaining("is not a folder");
    assertThatThrownBy(() ->
        AdapterDecompressor.write(io(atomic), file.toString(), result.adapter(), OutputDType.F32))
        .isInstanceOf(LoraQuantException.class).hasMessageContaining("is not a folder");
    assertThat(file).hasContent("keep");
  }

  @ParameterizedTest(name = "atomic rename {0}")
  @ValueSource(booleans = {true, false})
  void decompressReplacesItsOwnOutputOnly(boolean atomic) throws IOException {
    Path out = tmp.resolve("restored");
    AdapterDecompressor.write(io(atomic), out.toString(), result.adapter(), OutputDType.F32);
    Files.writeString(out.resolve("README.md"), "mine");

    AdapterDecompressor.write(io(atomic), out.toString(), result.adapter(), OutputDType.F16);

    assertThat(entries(out)).containsExactly(AdapterDecompressor.MARKER_FILE, "README.md",
        "adapter_config.json", "adapter_model.safetensors");
    assertThat(out.resolve("README.md")).hasContent("mine");
    assertThat(out.resolve("adapter_model.safetensors")).hasBinaryContent(
        AdapterDecompressor.decompress(result.adapter(), OutputDType.F16).weights());
  }

  @Test
  void aNestedWriterCreatingTheTargetMidWriteGetsOursWrittenBesideIt() throws IOException {
    Path outer = tmp.resolve("out/a");
    // Just before our rename, the writer of out/a/b creates out/a as the parent of its staging.
    FileIO racing = new RacingFileIO(() -> {
      Files.createDirectories(outer.resolve(".b.loraquant-staging-x"));
      Files.writeString(outer.resolve(".b.loraquant-staging-x/loraquant_model.safetensors"), "b's");
    });

    CompressedAdapterWriter.write(racing, outer.toString(), result.adapter(), manifest);

    assertThat(entries(outer)).containsExactly(".b.loraquant-staging-x", CompressedFormat.CONFIG_FILE,
        CompressedFormat.MANIFEST_FILE, CompressedFormat.MODEL_FILE);
    assertThat(outer.resolve(".b.loraquant-staging-x/loraquant_model.safetensors")).hasContent("b's");
    assertThat(entries(tmp.resolve("out"))).containsExactly("a");
  }

  private static List<String> entries(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static Map<Path, byte[]> snapshot(Path dir) throws IOException {
    Map<Path, byte[]> files = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        files.put(p, Files.readAllBytes(p));
      }
    }
    return files;
  }

  /**
   * A killed replacement can leave the target as an empty folder, which a listing of files (the
   * job's) reports as nothing: staging must still find and replace it.
   */
  @Test
  void anEmptyFolderTheCallersListingCouldNotSeeIsStillReplacedWhenStaging() throws IOException {
    Path out = Files.createDirectories(tmp.resolve("out"));

    CompressedAdapterWriter.write(
        new LocalFileIO(), out.toString(), result.adapter(), manifest,
        org.loraquant.io.OwnedFolder.Contents.ABSENT);

    assertThat(out.resolve(CompressedFormat.MANIFEST_FILE)).exists();
  }

  /** Local files, running {@code beforeRename} just before each directory rename. */
  private static final class RacingFileIO extends ForwardingFileIO {
    interface Action {
      void run() throws IOException;
    }

    private final Action beforeRename;

    RacingFileIO(Action beforeRename) {
      this.beforeRename = beforeRename;
    }

    @Override
    public void renameDirectory(String source, String target) throws IOException {
      beforeRename.run();
      local.renameDirectory(source, target);
    }
  }
}
