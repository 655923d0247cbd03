package org.loraquant.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.CodecSettings;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.CompressionManifest;
import org.loraquant.compress.CompressionResult;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.io.FileIO;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.FailingFileIO;
import org.loraquant.testing.SyntheticAdapter;

/** A crash or refusal while writing never leaves a compressed adapter that looks complete. */
class AtomicWriteTest {
  @TempDir Path tmp;
  private Path out;
  private CompressionResult result;
  private byte[] manifest;

  @BeforeEach
  void compress() throws IOException {
    out = tmp.resolve("out").resolve("compressed");
    result = compress(CompressedFixture.SETTINGS);
    manifest = CompressionManifest.of(result, null, Map.of()).toJson(CompressedFixture.SETTINGS);
  }

  private CompressionResult compress(CodecSettings settings) throws IOException {
    Path source = new SyntheticAdapter(3, 4).linear(CompressedFixture.MODULE, 20, 12, 4, DType.F32, false)
        .writeTo(tmp.resolve("source"));
    return AdapterCompressor.compress(PeftAdapterReader.open(new LocalFileIO(), source.toString()), settings);
  }

  private void write(FileIO io) throws IOException {
    CompressedAdapterWriter.write(io, out.toString(), result.adapter(), manifest);
  }

  private boolean complete() throws IOException {
    return CompressedAdapterReader.isComplete(new LocalFileIO(), out.toString());
  }

  @Test
  void atomicPathLeavesNoTargetAndNoStagingAfterAFailure() throws IOException {
    assertThatThrownBy(() -> write(FailingFileIO.failingOnCreate(2, true)))
        .isInstanceOf(IOException.class).hasMessageStartingWith("injected failure");
    assertThat(out).doesNotExist();
    assertThat(entries(out.getParent())).isEmpty();
  }

  @Test
  void nonAtomicPathLeavesNoManifestAfterAFailure() throws IOException {
    for (int failing = 1; failing <= 3; failing++) {
      new LocalFileIO().deleteRecursively(out.toString());
      int n = failing;
      assertThatThrownBy(() -> write(FailingFileIO.failingOnCreate(n, false))).isInstanceOf(IOException.class);
      assertThat(complete()).as("failing create #" + n).isFalse();
      assertThatThrownBy(() -> CompressedAdapterReader.read(new LocalFileIO(), out.toString()))
          .isInstanceOf(IncompleteAdapterException.class);
    }
  }

  @Test
  void replacingInPlaceNeverKeepsAStaleManifest() throws IOException {
    write(new LocalFileIO());
    assertThat(complete()).isTrue();
    result = compress(CompressedFixture.SETTINGS.withBitsHigh(3));
    assertThatThrownBy(() -> write(FailingFileIO.failingOnCreate(2, false))).isInstanceOf(IOException.class);
    assertThat(complete()).isFalse();
  }

  @Test
  void atomicReplacementKeepsTheOldOutputWhenStagingFails() throws IOException {
    write(new LocalFileIO());
    byte[] oldModel = Files.readAllBytes(out.resolve(CompressedFormat.MODEL_FILE));
    result = compress(CompressedFixture.SETTINGS.withBitsHigh(3));
    assertThatThrownBy(() -> write(FailingFileIO.failingOnCreate(1, true))).isInstanceOf(IOException.class);
    assertThat(complete()).isTrue();
    assertThat(out.resolve(CompressedFormat.MODEL_FILE)).hasBinaryContent(oldModel);
    assertThat(entries(out.getParent())).containsExactly("compressed");
  }

  @Test
  void atomicReplacementInterruptedWhileDeletingTheOldFolderLeavesNoManifest() throws IOException {
    write(new LocalFileIO());
    result = compress(CompressedFixture.SETTINGS.withBitsHigh(3));
    assertThatThrownBy(() -> write(FailingFileIO.failingOnDelete(out.toString(), true))).isInstanceOf(IOException.class);
    assertThat(complete()).isFalse();
    assertThat(entries(out.getParent())).containsExactly("compressed");
  }

  @Test
  void successfulReplacementHasOnlyTheNewFiles() throws IOException {
    write(new LocalFileIO());
    result = compress(CompressedFixture.SETTINGS.withBitsHigh(3));
    for (boolean atomic : List.of(true, false)) {
      write(atomic ? new LocalFileIO() : FailingFileIO.failingOnCreate(-1, false));
      assertThat(entries(out)).containsExactly(CompressedFormat.CONFIG_FILE, CompressedFormat.MANIFEST_FILE,
          CompressedFormat.MODEL_FILE);
      assertThat(out.resolve(CompressedFormat.MODEL_FILE)).hasBinaryContent(CompressedAdapterWriter.modelBytes(result.adapter()));
      assertThat(entries(out.getParent())).containsExactly("compressed");
    }
  }

  private static List<String> entries(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
