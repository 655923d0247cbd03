package org.loraquant.hadoop;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.loraquant.hadoop.HadoopFileIO;

class OutputFileIOTest {
  private final HadoopFileIO io = new HadoopFileIO(new Configuration(false));

  @Test
  void stagesAndRenamesOnlyWhereRenameIsAtomic() {
    assertThat(OutputFileIO.forScheme(io, "file").atomicDirectoryRename()).isTrue();
    assertThat(OutputFileIO.forScheme(io, "hdfs").atomicDirectoryRename()).isTrue();
    assertThat(OutputFileIO.forScheme(io, "s3a").atomicDirectoryRename()).isFalse();
    assertThat(OutputFileIO.forScheme(io, "gs").atomicDirectoryRename()).isFalse();
    assertThat(OutputFileIO.forScheme(io, "abfs").atomicDirectoryRename()).isFalse();
  }
}
