package org.loraquant.hadoop;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.S3ProxyServer;
import org.loraquant.testing.S3aSettings;

/** A file appears at its path whole at its commit, and never after an abort. */
class AtomicFileTest {
  private static final byte[] CONTENT = "rows of one run".getBytes(StandardCharsets.UTF_8);

  @TempDir Path temp;

  @Test
  void onALocalDiskTheFileIsStagedAndRenamedAtItsCommit() throws IOException {
    HadoopFileIO io = new HadoopFileIO(new Configuration());
    Path target = temp.resolve("table/run_date=2026-03-01/part-1.parquet");
    Path staging = temp.resolve("table/_temporary");
    AtomicFile file = AtomicFile.create(io, target.toUri().toString(), staging.toUri().toString());
    assertThat(file.staged()).isTrue();
    file.stream().write(CONTENT);
    file.stream().flush();
    assertThat(target).doesNotExist();
    assertThat(target.getParent()).as("the partition folder").doesNotExist();
    assertThat(staging.resolve("part-1.parquet")).exists();

    file.commit();
    assertThat(target).hasBinaryContent(CONTENT);
    assertThat(staging.resolve("part-1.parquet")).doesNotExist();
  }

  @Test
  void onALocalDiskAnAbortLeavesNothing() throws IOException {
    HadoopFileIO io = new HadoopFileIO(new Configuration());
    Path target = temp.resolve("table/run_date=2026-03-01/part-1.parquet");
    Path staging = temp.resolve("table/_temporary");
    AtomicFile file = AtomicFile.create(io, target.toUri().toString(), staging.toUri().toString());
    file.stream().write(CONTENT);
    file.abort();
    assertThat(target).doesNotExist();
    try (var left = Files.list(staging)) {
      assertThat(left).as("staged files left").isEmpty();
    }
  }

  @Test
  void onS3TheObjectIsWrittenInPlaceAndAppearsOnlyAtItsCommit() throws IOException {
    try (S3ProxyServer s3 = S3ProxyServer.start()) {
      String bucket = S3aSettings.uniqueBucket("atomic");
      s3.createBucket(bucket);
      Configuration conf = s3.hadoopConfiguration();
      HadoopFileIO io = new HadoopFileIO(conf);
      String table = "s3a://" + bucket + "/stats/layers";
      String path = table + "/run_date=2026-03-01/part-1.parquet";
      org.apache.hadoop.fs.Path tablePath = new org.apache.hadoop.fs.Path(table);
      FileSystem fs = io.fileSystem(tablePath);

      AtomicFile file = AtomicFile.create(io, path, table + "/_temporary");
      assertThat(file.staged()).as("written in place").isFalse();
      file.stream().write(CONTENT);
      file.stream().flush();
      assertThat(fs.exists(tablePath)).as("anything under the table before the commit").isFalse();

      file.commit();
      try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(path))) {
        assertThat(in.readAllBytes()).isEqualTo(CONTENT);
      }
      assertThat(fs.exists(new org.apache.hadoop.fs.Path(table + "/_temporary"))).isFalse();

      AtomicFile aborted = AtomicFile.create(io, table + "/run_date=2026-03-02/part-2.parquet",
          table + "/_temporary");
      aborted.stream().write(CONTENT);
      aborted.abort();
      assertThat(fs.exists(new org.apache.hadoop.fs.Path(table + "/run_date=2026-03-02")))
          .as("anything of the aborted file")
          .isFalse();
    }
  }
}
