package org.loraquant.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.lock.RunLock;
import org.loraquant.spark.SparkTestBase;
import org.loraquant.testing.S3BehindFaultProxy;

/**
 * The stats root's leftovers check on S3 (issue 17): one LIST of the whole root, where listing
 * each table took a LIST and, for a table not there yet, S3A's HEAD and LIST probing for it.
 */
class StatsLeftoversOnS3Test extends SparkTestBase {
  private static S3BehindFaultProxy s3;

  @BeforeAll
  static void startStore() {
    s3 = S3BehindFaultProxy.start();
  }

  @AfterAll
  static void stopStore() {
    if (s3 != null) {
      s3.close();
    }
  }

  private static HadoopFileIO io() {
    return new HadoopFileIO(s3.hadoopConfiguration());
  }

  private static void put(HadoopFileIO io, String root, String file) throws IOException {
    Path path = new Path(root + "/" + file);
    FileSystem fs = io.fileSystem(path);
    try (OutputStream out = fs.create(path, true)) {
      out.write('x');
    }
  }

  /** A stats root in a bucket of its own, holding {@code files}. */
  private static String rootWith(HadoopFileIO io, String... files) throws IOException {
    String bucket = s3.newBucket("leftovers");
    String root = "s3a://" + bucket + "/stats";
    for (String file : files) {
      put(io, root, file);
    }
    return root;
  }

  /** A root without leftovers, fresh (only the lock) or holding both tables, costs one LIST. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("rootsWithoutLeftovers")
  void aRootWithoutLeftoversIsCheckedByOneList(String what, List<String> files)
      throws IOException {
    HadoopFileIO io = io();
    String root = rootWith(io, files.toArray(String[]::new));
    StatsTables tables = new StatsTables(spark(), io, root);
    s3.proxy().resetCounts();
    assertThat(tables.removeLeftovers()).isEmpty();
    assertThat(kinds()).as("requests: %s", s3.proxy().requestLines()).containsExactly("LIST");
  }

  static Stream<Arguments> rootsWithoutLeftovers() {
    String lease = RunLock.FOLDER + "/lease-run-a-00000000.json";
    return Stream.of(
        Arguments.of("only the lock", List.of(lease)),
        Arguments.of(
            "both tables",
            List.of(
                lease,
                "layers/run_date=2026-03-01/part-0.parquet",
                "adapters/run_date=2026-03-01/part-0.parquet",
                "adapters/_SUCCESS")));
  }

  @Test
  void leftoversOnS3AreFoundByTheOneListAndRemovedAndNothingElse() throws IOException {
    HadoopFileIO io = io();
    List<String> kept =
        List.of(
            "layers/run_date=2026-03-01/part-0.parquet",
            "layers/_SUCCESS",
            "adapters/run_date=2026-03-01/part-0.parquet",
            "adapters/run_date=2026-03-01/_temporary-not-a-leftover.parquet");
    String root = rootWith(io, kept.toArray(String[]::new));
    put(io, root, "layers/_temporary/0/task_1/run_date=2026-03-01/part-0.parquet");
    put(io, root, "adapters/__magic_job-1234/part-0.parquet.pending");
    put(io, root, "adapters/__magic_job-1234/more/part-1.parquet.pending");
    StatsTables tables = new StatsTables(spark(), io, root);
    s3.proxy().resetCounts();
    assertThat(tables.removeLeftovers())
        .containsExactlyInAnyOrder(
            root + "/layers/_temporary", root + "/adapters/__magic_job-1234");
    assertThat(kinds().get(0)).isEqualTo("LIST");
    FileSystem fs = io.fileSystem(new Path(root));
    for (String file : kept) {
      assertThat(fs.exists(new Path(root + "/" + file))).as(file).isTrue();
    }
    assertThat(fs.exists(new Path(root + "/layers/_temporary"))).isFalse();
    assertThat(fs.exists(new Path(root + "/adapters/__magic_job-1234"))).isFalse();
  }

  /** Each request the proxy saw as LIST (a bucket listing) or its HTTP method. */
  private static List<String> kinds() {
    return s3.proxy().requestLines().stream()
        .map(
            line ->
                line.startsWith("GET ") && line.contains("list-type=")
                    ? "LIST"
                    : line.substring(0, line.indexOf(' ')))
        .toList();
  }
}
