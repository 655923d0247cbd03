package org.loraquant.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A killed writer's staging folders are cleared; nothing else, and no live writer's, ever is. */
class StaleStagingTest {
  @TempDir Path tmp;

  @Test
  void onlyOldStagingFoldersOfTheSameTargetAreRemoved() throws IOException {
    long now = System.currentTimeMillis();
    long old = now - FolderPaths.STALE_STAGING_AGE.toMillis() - 60_000;
    String target = tmp.resolve("adapter").toString();
    Path stale = stagingDir(FolderPaths.stagingSibling(target, old));
    Path live = stagingDir(FolderPaths.stagingSibling(target, now - 60_000));
    Path otherTarget = stagingDir(FolderPaths.stagingSibling(tmp.resolve("other").toString(), old));
    Path unversioned = stagingDir(tmp.resolve(".adapter" + FolderPaths.STAGING_MARKER + UUID.randomUUID()).toString());
    Path lookalike = stagingDir(tmp.resolve(".adapter" + FolderPaths.STAGING_MARKER + old + "-mine").toString());
    Path user = stagingDir(tmp.resolve("adapter-notes").toString());

    OwnedFolder.removeStaleStaging(new LocalFileIO(), target);

    assertThat(stale).doesNotExist();
    assertThat(List.of(live, otherTarget, unversioned, lookalike, user)).allMatch(Files::isDirectory);
    assertThat(entries(tmp)).hasSize(5);
  }

  @Test
  void stagingNamesCarryTheirAge() {
    String target = "s3a://bucket/out/a";
    String name = FolderPaths.nameOf(FolderPaths.stagingSibling(target, 1_000));
    assertThat(name).startsWith(".a" + FolderPaths.STAGING_MARKER + "1000-");
    long later = 1_000 + FolderPaths.STALE_STAGING_AGE.toMillis();
    assertThat(FolderPaths.isStaleStagingOf(target, name, later)).isFalse();
    assertThat(FolderPaths.isStaleStagingOf(target, name, later + 1)).isTrue();
    assertThat(FolderPaths.isStaleStagingOf("s3a://bucket/out/ab", name, later + 1)).isFalse();
  }

  private static Path stagingDir(String path) throws IOException {
    Path dir = Files.createDirectories(Path.of(path));
    Files.writeString(dir.resolve("loraquant_model.safetensors"), "x");
    return dir;
  }

  private static List<String> entries(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).toList();
    }
  }
}
