package org.loraquant.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.format.CompressedFormat;
import org.loraquant.peft.AdapterConfig;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.Fifos;
import org.loraquant.testing.MemoryFileIO;
import org.loraquant.testing.SyntheticAdapter;

/**
 * Readers read regular files only: a FIFO (opening one blocks until someone writes) or a directory
 * where a file should be is the input's fault, refused with a one-line message, never a hang and
 * never a storage error. The timeout only guards against the hang this class tests for: a reader
 * stuck in open(2) on a FIFO cannot be interrupted, so the test fails from another thread.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NonRegularFilesTest {
  @TempDir Path tmp;
  private final LocalFileIO io = new LocalFileIO();

  private static Path adapter(Path dir) throws IOException {
    return new SyntheticAdapter(1, 4)
        .linear("base_model.model.q_proj", 6, 5, 4, DType.F32, false)
        .writeTo(dir);
  }

  @Test
  void localInputFilesRefuseFifosAndDirectories() throws Exception {
    Path fifo = Fifos.make(tmp.resolve("pipe"));
    InputFile pipe = io.newInputFile(fifo.toString());
    assertThatThrownBy(pipe::length)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(fifo + ": not a regular file (a FIFO); refused");
    assertThatThrownBy(() -> pipe.read(0, 1))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(fifo + ": not a regular file (a FIFO); refused");

    Path dir = Files.createDirectories(tmp.resolve("dir"));
    assertThatThrownBy(() -> io.newInputFile(dir.toString()).read(0, 1))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(dir + ": not a regular file (a directory); refused");

    // A link is followed: what counts is what a read would open.
    Path link = Files.createSymbolicLink(tmp.resolve("link"), fifo);
    assertThatThrownBy(() -> io.newInputFile(link.toString()).length())
        .hasMessage(link + ": not a regular file (a FIFO); refused");

    assertThatThrownBy(() -> io.newInputFile(tmp.resolve("missing").toString()).length())
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void aFifoConfigIsRefusedNotWaitedOn() throws Exception {
    Path adapter = adapter(tmp.resolve("a"));
    Path config = adapter.resolve(AdapterConfig.FILE_NAME);
    Files.delete(config);
    Fifos.make(config);
    assertThatThrownBy(() -> PeftAdapterReader.open(io, adapter.toString()))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(config + ": not a regular file (a FIFO); refused");
  }

  @Test
  void weightsThatAreADirectoryOrAFifoAreRefused() throws Exception {
    Path adapter = adapter(tmp.resolve("a"));
    Path weights = adapter.resolve(PeftAdapterReader.WEIGHTS_FILE);
    Files.delete(weights);
    Files.createDirectories(weights.resolve("inner"));
    assertThatThrownBy(() -> PeftAdapterReader.open(io, adapter.toString()))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(weights + ": not a regular file (a directory); refused");

    io.deleteRecursively(weights.toString());
    Fifos.make(weights);
    assertThatThrownBy(() -> PeftAdapterReader.open(io, adapter.toString()))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(weights + ": not a regular file (a FIFO); refused");
  }

  @Test
  void aFifoManifestIsRefusedByTheCompressedReader() throws Exception {
    Path folder = Files.createDirectories(tmp.resolve("compressed"));
    Path manifest = Fifos.make(folder.resolve(CompressedFormat.MANIFEST_FILE));
    assertThatThrownBy(() -> CompressedAdapterReader.read(io, folder.toString()))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(manifest + ": not a regular file (a FIFO); refused");
  }

  @Test
  void jsonFilesAreBounded() throws Exception {
    Path adapter = tmp.resolve("big");
    Files.createDirectories(adapter);
    Path config = adapter.resolve(AdapterConfig.FILE_NAME);
    try (var ch =
        java.nio.channels.FileChannel.open(
            config,
            java.nio.file.StandardOpenOption.CREATE_NEW,
            java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {'{'}), JsonFiles.MAX_JSON_FILE_BYTES);
    }
    assertThatThrownBy(() -> PeftAdapterReader.open(io, adapter.toString()))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            config
                + ": 16777217 bytes is too large for a JSON file (limit 16777216 bytes)");
  }

  @Test
  void storageErrorsSayWhatHappened() {
    assertThat(IoErrors.reason(new AccessDeniedException("/x"))).isEqualTo("permission denied");
    assertThat(IoErrors.reason(new NoSuchFileException("/x"))).isEqualTo("no such file");
    assertThat(IoErrors.reason(new FileSystemException("/x", null, "Is a directory")))
        .isEqualTo("Is a directory");
    assertThat(IoErrors.reason(new FileSystemException("/x"))).isEqualTo("FileSystemException");
    assertThat(IoErrors.reason(new IOException("connection reset"))).isEqualTo("connection reset");
    assertThat(IoErrors.reason(new IOException())).isEqualTo("IOException");

    // The config of an adapter the user may not read: the message says so.
    FileIO denied =
        new MemoryFileIO(
                Map.of(
                    "/fleet/a/" + AdapterConfig.FILE_NAME, new byte[0],
                    "/fleet/a/" + PeftAdapterReader.WEIGHTS_FILE, new byte[0]))
            .failingReads(AccessDeniedException::new);
    assertThatThrownBy(() -> PeftAdapterReader.open(denied, "/fleet/a"))
        .isExactlyInstanceOf(UncheckedIOException.class)
        .hasMessage("Cannot read /fleet/a/adapter_config.json: permission denied");
  }
}
