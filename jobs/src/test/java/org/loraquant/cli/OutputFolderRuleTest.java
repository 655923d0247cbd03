package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.loraquant.cli.CommandRun.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code compress IN OUT} and {@code decompress IN OUT} write only into an absent or empty OUT, or
 * with {@code --overwrite} over their own previous output; everything else is refused in one line
 * with exit code 1, and nothing on disk changes.
 */
class OutputFolderRuleTest {

  @TempDir Path tmp;
  private Path fleet;
  private Path source;

  @BeforeEach
  void writeSource() throws IOException {
    fleet = tmp.resolve("fleet");
    source = CommandRun.smallAdapter(5).writeTo(fleet.resolve("a"));
  }

  /** Runs a command that must be refused, and checks that it changed nothing under tmp. */
  private CommandRun refused(Object... args) throws IOException {
    Map<Path, byte[]> before = snapshot(tmp);
    CommandRun run = run(args);
    assertThat(run.exitCode()).as("exit code of %s", List.of(args)).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.err()).hasSize(1);
    assertThat(run.out()).isEmpty();
    Map<Path, byte[]> after = snapshot(tmp);
    assertThat(after.keySet()).isEqualTo(before.keySet());
    before.forEach((file, bytes) -> assertThat(after.get(file)).as("%s", file).isEqualTo(bytes));
    return run;
  }

  @Test
  void aFolderWithSomethingElseInItIsRefusedEvenWithOverwrite() throws IOException {
    Path out = Files.createDirectories(tmp.resolve("d"));
    Files.writeString(out.resolve("keep"), "k");
    assertThat(refused("compress", source, out).err()).containsExactly("loraquant compress: OUT " + out
        + " is not empty (keep) and holds no output of compress; choose a new or empty folder"
        + " (--overwrite replaces only a previous output of compress)");
    refused("compress", source, out, "--overwrite");
    Path compressed = tmp.resolve("compressed");
    assertThat(run("compress", source, compressed).exitCode()).isZero();
    assertThat(refused("decompress", compressed, out, "--overwrite").err()).singleElement().asString()
        .contains("OUT " + out + " is not empty (keep) and holds no output of decompress");
  }

  @Test
  void theInputItsParentAndItsSubfoldersAreRefused() throws IOException {
    assertThat(refused("compress", source, source).err()).containsExactly(
        "loraquant compress: OUT " + source + " is the input folder itself; choose an output folder outside " + source);
    assertThat(refused("compress", source, fleet, "--overwrite").err()).singleElement().asString()
        .endsWith("OUT " + fleet + " holds the input folder " + source + "; choose an output folder outside it");
    assertThat(refused("compress", source, source.resolve("out")).err()).singleElement().asString()
        .contains("is inside the input folder " + source);
    // Other spellings of the same folders: a symbolic link, '..', a file: URI.
    Path link = Files.createSymbolicLink(tmp.resolve("link"), source);
    refused("compress", source, link);
    refused("compress", source, source.resolve("../a/new"));
    refused("compress", "file:" + source, source.resolve("out"));
    refused("compress", source, "file://" + fleet);
    Path compressed = tmp.resolve("compressed");
    assertThat(run("compress", source, compressed).exitCode()).isZero();
    refused("decompress", compressed, compressed, "--overwrite");
    refused("decompress", compressed, compressed.resolve("restored"));
  }

  @Test
  void aRegularFileIsRefused() throws IOException {
    Path file = Files.writeString(tmp.resolve("file.txt"), "k");
    assertThat(refused("compress", source, file, "--overwrite").err()).containsExactly(
        "loraquant compress: OUT " + file + " exists and is not a folder; choose a new or empty folder");
    Path compressed = tmp.resolve("compressed");
    assertThat(run("compress", source, compressed).exitCode()).isZero();
    refused("decompress", compressed, file, "--overwrite");
  }

  @Test
  void aPreviousOutputIsReplacedOnlyWithOverwrite() throws IOException {
    Path out = tmp.resolve("compressed");
    assertThat(run("compress", source, out).exitCode()).isZero();
    Map<Path, byte[]> first = snapshot(out);
    assertThat(refused("compress", source, out, "--rho", "0.5").err()).containsExactly(
        "loraquant compress: OUT " + out + " holds a previous output of compress; use --overwrite to replace it");

    CommandRun again = run("compress", source, out, "--rho", "0.5", "--overwrite");
    assertThat(again.err()).isEmpty();
    assertThat(again.exitCode()).isZero();
    assertThat(snapshot(out).keySet()).isEqualTo(first.keySet());
    assertThat(Files.readString(out.resolve("loraquant_manifest.json"))).contains("0.5");

    Path restored = tmp.resolve("restored");
    assertThat(run("decompress", out, restored).exitCode()).isZero();
    assertThat(restored.resolve(".loraquant_decompressed")).isRegularFile();
    assertThat(refused("decompress", out, restored, "--dtype", "f16").err()).containsExactly(
        "loraquant decompress: OUT " + restored + " holds a previous output of decompress; use --overwrite to replace it");
    assertThat(run("decompress", out, restored, "--dtype", "f16", "--overwrite").exitCode()).isZero();
    // A compressed output is not decompress's to replace, nor a decompressed one compress's.
    refused("decompress", out, tmp.resolve("compressed"), "--overwrite");
    refused("compress", source, restored, "--overwrite");
  }

  @Test
  void decompressNeverReplacesAnAdapterItDidNotWrite() throws IOException {
    Path other = CommandRun.smallAdapter(6).writeTo(tmp.resolve("original"));
    Path compressed = tmp.resolve("compressed");
    assertThat(run("compress", source, compressed).exitCode()).isZero();
    assertThat(refused("decompress", compressed, other, "--overwrite").err()).singleElement().asString()
        .contains("OUT " + other + " is not empty (adapter_config.json, adapter_model.safetensors)");
  }

  @Test
  void aKilledWritersOldStagingFolderIsRemovedAtTheNextWrite() throws IOException {
    Path out = tmp.resolve("compressed");
    Path stale = Files.createDirectories(
        tmp.resolve(".compressed.loraquant-staging-1000-00000000-0000-0000-0000-000000000000"));
    Files.writeString(stale.resolve("loraquant_model.safetensors"), "half");
    Path live = Files.createDirectories(tmp.resolve(".compressed.loraquant-staging-"
        + System.currentTimeMillis() + "-00000000-0000-0000-0000-000000000000"));
    assertThat(run("compress", source, out).exitCode()).isZero();
    assertThat(stale).doesNotExist();
    assertThat(live).isDirectory();
  }

  private static Map<Path, byte[]> snapshot(Path dir) throws IOException {
    Map<Path, byte[]> files = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.toList()) {
        files.put(p, Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? Files.readAllBytes(p) : new byte[0]);
      }
    }
    return files;
  }
}
