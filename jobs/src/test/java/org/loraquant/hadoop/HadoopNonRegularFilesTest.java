package org.loraquant.hadoop;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.InputFile;
import org.loraquant.testing.Fifos;

/**
 * HadoopFileIO reads regular files only. Hadoop's local file system lists a FIFO as a file, and
 * opening one blocks until a writer comes, so local paths get the local check before any open.
 * The timeout only guards against that hang.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HadoopNonRegularFilesTest {
  @TempDir Path tmp;
  private final HadoopFileIO io = new HadoopFileIO(new Configuration());

  @Test
  void fifosAndDirectoriesAreRefusedBeforeAnyOpen() throws Exception {
    Path fifo = Fifos.make(tmp.resolve("adapter_config.json"));
    String fifoUri = fifo.toUri().toString();
    InputFile pipe = io.newInputFile(fifoUri);
    assertThatThrownBy(pipe::length)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageEndingWith("adapter_config.json: not a regular file (a FIFO); refused");
    // With the length known from a listing (0 for a FIFO) no status is asked: the read checks.
    assertThatThrownBy(() -> io.newInputFile(fifoUri, 0).read(0, 0))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageEndingWith("adapter_config.json: not a regular file (a FIFO); refused");

    Path dir = Files.createDirectories(tmp.resolve("adapter_model.safetensors"));
    assertThatThrownBy(() -> io.newInputFile(dir.toUri().toString()).length())
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageEndingWith("adapter_model.safetensors: not a regular file (a directory); refused");
  }
}
