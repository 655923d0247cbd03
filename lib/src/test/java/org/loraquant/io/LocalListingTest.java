package org.loraquant.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalListingTest {
  @TempDir Path temp;

  private void write(String relative, String content) throws IOException {
    Path p = temp.resolve(relative);
    Files.createDirectories(p.getParent());
    Files.writeString(p, content);
  }

  private List<String> paths(List<ListedFile> files) {
    return files.stream().map(ListedFile::path).sorted().toList();
  }

  @Test
  void listsEveryFileBelowTheRootWithSizeAndTime() throws IOException {
    write("fleet/a/x.json", "12345");
    write("fleet/a/b/y.bin", "1");
    write("fleet/.hidden/z", "1");
    String root = temp.resolve("fleet").toString();

    List<ListedFile> all = new LocalFileIO().listRecursive(root + "/");

    assertThat(paths(all)).containsExactly(
        root + "/.hidden/z", root + "/a/b/y.bin", root + "/a/x.json");
    ListedFile x = all.stream().filter(f -> f.path().endsWith("x.json")).findFirst().orElseThrow();
    assertThat(x.size()).isEqualTo(5);
    assertThat(x.modificationTime())
        .isEqualTo(Files.getLastModifiedTime(temp.resolve("fleet/a/x.json")).toMillis());
    assertThat(x.etag()).isNull();
    assertThat(paths(new LocalFileIO().listRecursive(root, folder -> !folder.startsWith("."))))
        .containsExactly(root + "/a/b/y.bin", root + "/a/x.json");
  }

  @Test
  void linksNeverLeadOutOfTheRootNorRoundALoop() throws IOException {
    write("fleet/a/w", "weights");
    write("secret/s", "not the fleet's");
    Files.createSymbolicLink(temp.resolve("fleet/a/loop"), temp.resolve("fleet"));
    Files.createSymbolicLink(temp.resolve("fleet/inside"), temp.resolve("fleet/a/w"));
    Files.createSymbolicLink(temp.resolve("fleet/outside"), temp.resolve("secret/s"));
    Files.createSymbolicLink(temp.resolve("fleet/dangling"), temp.resolve("nowhere"));
    String root = temp.resolve("fleet").toString();

    List<ListedFile> all = new LocalFileIO().listRecursive(root);

    assertThat(paths(all)).containsExactly(root + "/a/w", root + "/inside");
    assertThat(all).allMatch(f -> f.size() == "weights".length());
  }

  @Test
  void aFileRootIsItselfAndAMissingRootIsNotFound() throws IOException {
    write("one.txt", "abc");
    String file = temp.resolve("one.txt").toString();
    assertThat(paths(new LocalFileIO().listRecursive(file))).containsExactly(file);
    assertThatThrownBy(() -> new LocalFileIO().listRecursive(temp.resolve("none").toString()))
        .isInstanceOf(FileNotFoundException.class);
  }
}
