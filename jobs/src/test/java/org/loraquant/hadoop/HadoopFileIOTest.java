package org.loraquant.hadoop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.io.InputFile;

class HadoopFileIOTest {
  @TempDir Path temp;

  private String uri(String relative) {
    return temp.toUri().toString() + relative;
  }

  private static void write(HadoopFileIO io, String path, String text) throws IOException {
    try (OutputStream out = io.newOutputFile(path).create()) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void readsByteRangesAndNamesTheFileWhenTooShort() throws IOException {
    HadoopFileIO io = new HadoopFileIO(new Configuration());
    write(io, uri("nested/dir/data.bin"), "0123456789");

    InputFile file = io.newInputFile(uri("nested/dir/data.bin"));
    assertThat(file.length()).isEqualTo(10);
    assertThat(new String(file.read(3, 4), StandardCharsets.US_ASCII)).isEqualTo("3456");
    byte[] buffer = new byte[6];
    io.newInputFile(uri("nested/dir/data.bin"), 10).readFully(8, buffer, 4, 2);
    assertThat(new String(buffer, 4, 2, StandardCharsets.US_ASCII)).isEqualTo("89");
    assertThatThrownBy(() -> file.read(8, 5))
        .isInstanceOf(EOFException.class)
        .hasMessageContaining("data.bin")
        .hasMessageContaining("5 bytes at offset 8");
  }

  @Test
  void listsExistsDeletesAndRenamesDirectories() throws IOException {
    HadoopFileIO io = new HadoopFileIO(new Configuration());
    write(io, uri("src/b.txt"), "b");
    write(io, uri("src/a.txt"), "a");
    io.mkdirs(uri("other"));

    assertThat(io.list(uri("src"))).containsExactly("a.txt", "b.txt");
    assertThat(io.list(uri("missing"))).isEmpty();
    assertThat(io.exists(uri("src/a.txt"))).isTrue();

    io.renameDirectory(uri("src"), uri("deeper/dst"));
    assertThat(Files.readString(temp.resolve("deeper/dst/a.txt"))).isEqualTo("a");
    assertThat(io.exists(uri("src"))).isFalse();
    assertThatThrownBy(() -> io.renameDirectory(uri("other"), uri("deeper/dst")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("target exists");

    io.deleteRecursively(uri("deeper"));
    io.deleteRecursively(uri("deeper"));
    assertThat(Files.exists(temp.resolve("deeper"))).isFalse();
  }

  @Test
  void serialisesOnlyNonDefaultStorageSettingsAndWorksAfterwards() throws Exception {
    Configuration conf = new Configuration();
    conf.set("fs.s3a.endpoint", "http://127.0.0.1:9000");
    conf.set("fs.s3a.path.style.access", "true");
    conf.set("mapreduce.job.name", "not needed by a FileIO");
    HadoopFileIO io = new HadoopFileIO(conf);
    write(io, uri("x.bin"), "payload");

    assertThat(io.shippedSettings())
        .containsEntry("fs.s3a.endpoint", "http://127.0.0.1:9000")
        .containsEntry("fs.s3a.path.style.access", "true")
        .doesNotContainKey("mapreduce.job.name")
        .doesNotContainKey("fs.defaultFS")
        .hasSizeLessThan(10);

    HadoopFileIO copy = roundTrip(io);
    assertThat(copy.conf().get("fs.s3a.endpoint")).isEqualTo("http://127.0.0.1:9000");
    assertThat(copy.conf().get("mapreduce.job.name")).isNull();
    assertThat(copy.newInputFile(uri("x.bin")).read(0, 7))
        .isEqualTo("payload".getBytes(StandardCharsets.US_ASCII));
  }

  private static HadoopFileIO roundTrip(HadoopFileIO io) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(io);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (HadoopFileIO) in.readObject();
    }
  }

  @Test
  void deleteRemovesOnlyAnEmptyFolderTakingOrphanedChecksumsAlong() throws IOException {
    HadoopFileIO io = new HadoopFileIO(new Configuration());
    write(io, uri("out/a/manifest.json"), "{}");
    write(io, uri("out/b/manifest.json"), "{}");
    write(io, uri("out/b/notes.txt"), "mine");
    assertThat(temp.resolve("out/a/.manifest.json.crc")).exists();
    Files.delete(temp.resolve("out/a/manifest.json")); // by hand: its checksum stays behind
    Files.delete(temp.resolve("out/b/manifest.json"));

    io.delete(uri("out/a"));
    assertThatThrownBy(() -> io.delete(uri("out/b"))).isInstanceOf(IOException.class);

    assertThat(temp.resolve("out/a")).doesNotExist();
    assertThat(temp.resolve("out/b/notes.txt")).hasContent("mine");
    assertThat(io.isDirectory(uri("out/b"))).isTrue();
    assertThat(io.isDirectory(uri("out/b/notes.txt"))).isFalse();
  }
}
