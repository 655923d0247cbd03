package org.loraquant.hadoop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.fleet.AdapterSpec;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.fleet.ModelShape;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.io.LocalFileIO;
import org.loraquant.plan.DiscoveredAdapter;

class AdapterDiscoveryTest {
  @TempDir Path temp;

  /** The local file system, counting the calls that would be round trips on an object store. */
  public static final class CountingLocalFileSystem extends LocalFileSystem {
    static final AtomicInteger LIST_FILES = new AtomicInteger();
    static final AtomicInteger LIST_STATUS = new AtomicInteger();
    static final AtomicInteger PER_PATH_CALLS = new AtomicInteger();

    @Override
    public FileStatus[] listStatus(org.apache.hadoop.fs.Path f) throws IOException {
      LIST_STATUS.incrementAndGet();
      return super.listStatus(f);
    }

    @Override
    public RemoteIterator<LocatedFileStatus> listFiles(
        org.apache.hadoop.fs.Path f, boolean recursive) throws IOException {
      LIST_FILES.incrementAndGet();
      return super.listFiles(f, recursive);
    }

    @Override
    public boolean exists(org.apache.hadoop.fs.Path f) throws IOException {
      PER_PATH_CALLS.incrementAndGet();
      return super.exists(f);
    }

    @Override
    public FileStatus getFileStatus(org.apache.hadoop.fs.Path f) throws IOException {
      PER_PATH_CALLS.incrementAndGet();
      return super.getFileStatus(f);
    }

    @Override
    public FSDataInputStream open(org.apache.hadoop.fs.Path f, int bufferSize) throws IOException {
      PER_PATH_CALLS.incrementAndGet();
      return super.open(f, bufferSize);
    }
  }

  private HadoopFileIO io;

  @BeforeEach
  void countingFileSystem() {
    Configuration conf = new Configuration();
    conf.set("fs.file.impl", CountingLocalFileSystem.class.getName());
    conf.setBoolean("fs.file.impl.disable.cache", true);
    io = new HadoopFileIO(conf);
    CountingLocalFileSystem.LIST_FILES.set(0);
    CountingLocalFileSystem.LIST_STATUS.set(0);
    CountingLocalFileSystem.PER_PATH_CALLS.set(0);
  }

  private void file(String relative, String content) throws IOException {
    Path p = temp.resolve(relative);
    Files.createDirectories(p.getParent());
    Files.writeString(p, content);
  }

  private void adapter(String folder) throws IOException {
    file(folder + "/adapter_config.json", "{\"peft_type\":\"LORA\"}");
    file(folder + "/adapter_model.safetensors", "weights of " + folder);
  }

  private String root() {
    return temp.toUri().toString();
  }

  @Test
  void findsAdaptersAtAnyDepthWithOneListingPerFolderAndNoPerFileCalls() throws IOException {
    adapter("a");
    adapter("tenant/b");
    adapter("tenant/b/checkpoint-2/c"); // an adapter inside an adapter's folder
    file("tenant/b/README.md", "hello");
    file("tenant/notes/readme.txt", "not an adapter");
    adapter(".staging/d");
    adapter("_temporary/0/e");
    file("a/.adapter_model.safetensors.crc", "checksum");

    List<DiscoveredAdapter> adapters = AdapterDiscovery.discover(io, root());

    assertThat(adapters)
        .extracting(DiscoveredAdapter::relativePath)
        .containsExactly("a", "tenant/b", "tenant/b/checkpoint-2/c");
    DiscoveredAdapter b = adapters.get(1);
    assertThat(b.files())
        .extracting(DiscoveredAdapter.AdapterFile::name)
        .containsExactly("README.md", "adapter_config.json", "adapter_model.safetensors");
    assertThat(b.file("adapter_model.safetensors").size())
        .isEqualTo("weights of tenant/b".length());
    assertThat(b.location()).startsWith("file:").endsWith("/tenant/b");
    assertThat(b.path("adapter_config.json")).endsWith("/tenant/b/adapter_config.json");
    assertThat(adapters.get(0).files()).hasSize(2);
    // Locally one listing per visible folder (the walk that does not follow links: root, a,
    // tenant, tenant/b, its checkpoint-2 and c, tenant/notes); object stores get one recursive
    // listing (S3DropFolderIT counts those requests).
    assertThat(CountingLocalFileSystem.LIST_STATUS.get()).isEqualTo(7);
    assertThat(CountingLocalFileSystem.LIST_FILES.get()).isZero();
    assertThat(CountingLocalFileSystem.PER_PATH_CALLS.get()).isZero();
  }

  @Test
  void aColonInTheFirstFolderNameIsJustACharacter() throws IOException {
    // new Path(root, "run:2") reads "run" as a URI scheme and threw on the driver for the whole run.
    adapter("run:2026-03-01");
    adapter("tenant/b:c");
    file("run:2026-03-01/" + org.loraquant.format.CompressedFormat.MANIFEST_FILE, "{}");

    List<DiscoveredAdapter> adapters = AdapterDiscovery.discover(io, root());

    assertThat(adapters)
        .extracting(DiscoveredAdapter::relativePath)
        .containsExactly("run:2026-03-01", "tenant/b:c");
    String location = adapters.get(0).location();
    assertThat(location).startsWith("file:").endsWith("/run:2026-03-01");
    assertThat(new org.apache.hadoop.fs.Path(location).toUri().getPath())
        .isEqualTo(temp.resolve("run:2026-03-01").toString());
    assertThat(OutputDiscovery.discover(io, root()).get("run:2026-03-01").location())
        .isEqualTo(location);
  }

  @Test
  void fingerprintFollowsWeightsAndConfigButNotOtherFiles() throws IOException {
    adapter("x");
    file("x/README.md", "v1");
    String before = AdapterDiscovery.discover(io, root()).get(0).fingerprint();
    assertThat(AdapterDiscovery.discover(io, root()).get(0).fingerprint()).isEqualTo(before);

    file("x/README.md", "version two");
    assertThat(AdapterDiscovery.discover(io, root()).get(0).fingerprint()).isEqualTo(before);

    Path weights = temp.resolve("x/adapter_model.safetensors");
    Files.setLastModifiedTime(weights, FileTime.fromMillis(1_000_000_000_000L));
    String touched = AdapterDiscovery.discover(io, root()).get(0).fingerprint();
    assertThat(touched).isNotEqualTo(before).hasSize(64);

    Files.writeString(weights, "different length weights");
    Files.setLastModifiedTime(weights, FileTime.fromMillis(1_000_000_000_000L));
    assertThat(AdapterDiscovery.discover(io, root()).get(0).fingerprint()).isNotEqualTo(touched);
  }

  @Test
  void rootItselfCanBeTheAdapter() throws IOException {
    adapter("only");
    List<DiscoveredAdapter> adapters =
        AdapterDiscovery.discover(io, temp.resolve("only").toUri().toString());
    assertThat(adapters).extracting(DiscoveredAdapter::relativePath).containsExactly("");
  }

  @Test
  void findsEveryAdapterOfAGeneratedFleet() throws IOException {
    FleetGenerator generator =
        new FleetGenerator(
            new LocalFileIO(), new FleetGenerator.Options(12, ModelShape.TINY, 8, 1));
    generator.generate(temp.resolve("fleet").toString());

    List<DiscoveredAdapter> adapters =
        AdapterDiscovery.discover(io, temp.resolve("fleet").toUri().toString());

    assertThat(adapters)
        .extracting(DiscoveredAdapter::relativePath)
        .containsExactlyInAnyOrderElementsOf(
            generator.plan().stream().map(AdapterSpec::relativePath).toList());
    assertThat(adapters).allMatch(a -> a.file("adapter_model.safetensors") != null);
  }

  @Test
  void missingRootOrAFileAsRootIsAClearError() throws IOException {
    assertThatThrownBy(() -> AdapterDiscovery.discover(io, root() + "nowhere"))
        .isInstanceOf(LoraQuantException.class)
        .hasMessageContaining("nowhere")
        .hasMessageContaining("does not exist");
    file("plain.txt", "x");
    assertThatThrownBy(
            () -> AdapterDiscovery.discover(io, temp.resolve("plain.txt").toUri().toString()))
        .isInstanceOf(LoraQuantException.class)
        .hasMessageContaining("is a file");
  }

  @Test
  void relistingSeesNoChangeUntilAFingerprintedFileChanges() throws IOException {
    adapter("x");
    DiscoveredAdapter found = AdapterDiscovery.discover(io, root()).get(0);
    org.apache.hadoop.fs.FileSystem fs = io.fileSystem(new org.apache.hadoop.fs.Path(root()));

    DiscoveredAdapter again = AdapterDiscovery.relist(fs, found);
    assertThat(again.files()).isEqualTo(found.files());
    assertThat(AdapterDiscovery.changeBetween(found, again)).isNull();

    file("x/README.md", "notes do not count");
    file("x/.adapter_model.safetensors.crc", "hidden files neither");
    assertThat(AdapterDiscovery.changeBetween(found, AdapterDiscovery.relist(fs, found))).isNull();

    // Same size, new time: a replacement that size checks alone would miss.
    Path weights = temp.resolve("x/adapter_model.safetensors");
    Files.writeString(weights, "weights of y");
    Files.setLastModifiedTime(weights, FileTime.fromMillis(1_900_000_000_000L));
    assertThat(AdapterDiscovery.changeBetween(found, AdapterDiscovery.relist(fs, found)))
        .startsWith("adapter_model.safetensors was rewritten (was 12 bytes modified ")
        .contains("now 12 bytes modified 2030-03-17T17:46:40Z");
  }

  @Test
  void relistingNamesAddedAndRemovedFilesAndADeletedFolder() throws IOException {
    adapter("x");
    DiscoveredAdapter found = AdapterDiscovery.discover(io, root()).get(0);
    org.apache.hadoop.fs.FileSystem fs = io.fileSystem(new org.apache.hadoop.fs.Path(root()));

    file("x/adapter_model-00002.safetensors", "second shard");
    assertThat(AdapterDiscovery.changeBetween(found, AdapterDiscovery.relist(fs, found)))
        .isEqualTo("adapter_model-00002.safetensors appeared");

    Files.delete(temp.resolve("x/adapter_model-00002.safetensors"));
    Files.delete(temp.resolve("x/adapter_model.safetensors"));
    assertThat(AdapterDiscovery.changeBetween(found, AdapterDiscovery.relist(fs, found)))
        .isEqualTo("adapter_model.safetensors was removed");

    Files.delete(temp.resolve("x/adapter_config.json"));
    Files.delete(temp.resolve("x"));
    DiscoveredAdapter gone = AdapterDiscovery.relist(fs, found);
    assertThat(gone.files()).isEmpty();
    assertThat(AdapterDiscovery.changeBetween(found, gone))
        .isEqualTo("adapter_config.json was removed");
  }

  @Test
  @Timeout(120) // a guard, not a speed check: following the two loops never ends
  void linkedFoldersAreNotEnteredSoALoopCannotMultiplyAdapters() throws IOException {
    adapter("fleet/a");
    adapter("fleet/b");
    adapter("elsewhere/c");
    Files.createSymbolicLink(temp.resolve("fleet/a/loop"), temp.resolve("fleet"));
    Files.createSymbolicLink(temp.resolve("fleet/b/loop"), temp.resolve("fleet"));
    Files.createSymbolicLink(temp.resolve("fleet/outside"), temp.resolve("elsewhere"));
    Files.createSymbolicLink(temp.resolve("fleet/alias"), temp.resolve("fleet/a"));

    List<DiscoveredAdapter> adapters =
        AdapterDiscovery.discover(io, temp.resolve("fleet").toUri().toString());

    assertThat(adapters).extracting(DiscoveredAdapter::relativePath).containsExactly("a", "b");
  }

  @Test
  void aLinkedFileCountsOnlyWhenItsTargetIsInsideTheInput() throws IOException {
    file("fleet/blobs/weights", "weights kept once");
    file("secret/weights", "not the fleet's");
    file("fleet/a/adapter_config.json", "{}");
    Files.createSymbolicLink(
        temp.resolve("fleet/a/adapter_model.safetensors"), temp.resolve("fleet/blobs/weights"));
    file("fleet/b/adapter_config.json", "{}");
    Files.createSymbolicLink(
        temp.resolve("fleet/b/adapter_model.safetensors"), temp.resolve("secret/weights"));
    Files.createSymbolicLink(temp.resolve("fleet/b/dangling.safetensors"), temp.resolve("nowhere"));

    List<DiscoveredAdapter> adapters =
        AdapterDiscovery.discover(io, temp.resolve("fleet").toUri().toString());

    assertThat(adapters).extracting(DiscoveredAdapter::relativePath).containsExactly("a", "b");
    assertThat(adapters.get(0).file("adapter_model.safetensors").size())
        .isEqualTo("weights kept once".length());
    assertThat(adapters.get(1).files())
        .extracting(DiscoveredAdapter.AdapterFile::name)
        .containsExactly("adapter_config.json");
    org.apache.hadoop.fs.FileSystem fs = io.fileSystem(new org.apache.hadoop.fs.Path(root()));
    for (DiscoveredAdapter a : adapters) {
      assertThat(AdapterDiscovery.changeBetween(a, AdapterDiscovery.relist(fs, a))).isNull();
    }
  }
}
