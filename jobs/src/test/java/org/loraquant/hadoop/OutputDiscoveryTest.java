package org.loraquant.hadoop;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.format.CompressedAdapterWriter;
import org.loraquant.format.CompressedFormat;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.plan.ExistingOutput;
import org.loraquant.io.LocalFileIO;
import org.loraquant.io.OwnedFolder;

/** The listing of the output: which folder is whose, and a killed writer's leftovers. */
class OutputDiscoveryTest {
  @TempDir Path out;

  private void output(String folder) throws IOException {
    Path dir = Files.createDirectories(out.resolve(folder));
    Files.writeString(dir.resolve(CompressedFormat.MODEL_FILE), "model");
    Files.writeString(dir.resolve(CompressedFormat.MANIFEST_FILE), "{}");
  }

  @Test
  void theRootAdaptersOutputIsItsOwnFolderAndFilesAtTheRootAreNobodys() throws IOException {
    output("_root");
    output("a");
    output("a/b");
    Files.writeString(out.resolve(CompressedFormat.MANIFEST_FILE), "{}"); // an older layout's
    output("_temporary/x");

    Map<String, ExistingOutput> found =
        OutputDiscovery.discover(new HadoopFileIO(new Configuration()), out.toUri().toString());

    assertThat(found).containsOnlyKeys("", "a", "a/b");
    assertThat(found.get("").location()).endsWith("/_root");
    assertThat(found.get("a").bytes()).isEqualTo("model{}".length());
  }

  @Test
  void listingTheOutputRemovesStaleStagingFoldersOnly() throws IOException {
    output("a");
    long now = System.currentTimeMillis();
    long old = now - FolderPaths.STALE_STAGING_AGE.toMillis() - 60_000;
    Path stale = out.resolve(".a" + FolderPaths.STAGING_MARKER + old + "-00000000-0000-0000-0000-000000000000");
    Path live = out.resolve(".a" + FolderPaths.STAGING_MARKER + now + "-00000000-0000-0000-0000-000000000000");
    Path nestedStale = out.resolve("a/.b" + FolderPaths.STAGING_MARKER + old + "-00000000-0000-0000-0000-000000000001");
    Path notOurs = out.resolve(".a.loraquant-staging-mine");
    for (Path dir : new Path[] {stale, live, nestedStale, notOurs}) {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(CompressedFormat.MODEL_FILE), "half");
    }

    Map<String, ExistingOutput> found =
        OutputDiscovery.discover(new HadoopFileIO(new Configuration()), out.toUri().toString());

    assertThat(found).containsOnlyKeys("a");
    assertThat(stale).doesNotExist();
    assertThat(nestedStale).doesNotExist();
    assertThat(live).isDirectory();
    assertThat(notOurs).isDirectory();
  }

  @Test
  void theListingTellsEachWriterWhatItsFolderHolds() throws IOException {
    output("a");
    output("a/b");
    Files.writeString(out.resolve("a/notes.txt"), "mine");
    Files.writeString(out.resolve("c"), "a file where c's folder would be");

    OutputDiscovery.Listing listing =
        OutputDiscovery.list(new HadoopFileIO(new Configuration()), out.toUri().toString());

    OwnedFolder.Contents a = listing.contents("a", CompressedAdapterWriter.LAYOUT);
    assertThat(a.folder()).isTrue();
    assertThat(a.ours())
        .containsExactly(CompressedFormat.MANIFEST_FILE, CompressedFormat.MODEL_FILE);
    assertThat(a.others()).containsExactly("b", "notes.txt");
    assertThat(a).isEqualTo(OwnedFolder.inspect(new LocalFileIO(), out.resolve("a").toString(),
        CompressedAdapterWriter.LAYOUT));
    assertThat(listing.contents("a/b", CompressedAdapterWriter.LAYOUT).others()).isEmpty();
    assertThat(listing.contents("ab", CompressedAdapterWriter.LAYOUT))
        .isEqualTo(OwnedFolder.Contents.ABSENT);
    OwnedFolder.Contents c = listing.contents("c", CompressedAdapterWriter.LAYOUT);
    assertThat(c.exists()).isTrue();
    assertThat(c.folder()).isFalse();
  }
}
