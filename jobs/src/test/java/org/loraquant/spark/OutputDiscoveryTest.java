package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.format.CompressedFormat;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.plan.ExistingOutput;

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
}
