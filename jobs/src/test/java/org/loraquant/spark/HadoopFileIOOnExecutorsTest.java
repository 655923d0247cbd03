package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.hadoop.HadoopFileIO;

/** A HadoopFileIO travels to tasks (broadcast and serialised with them) and reads there. */
class HadoopFileIOOnExecutorsTest extends SparkTestBase {
  @TempDir Path temp;

  @Test
  void tasksReadByteRangesThroughABroadcastFileIO() throws Exception {
    for (String name : List.of("a", "b", "c")) {
      Files.writeString(temp.resolve(name + ".bin"), "header|" + name + "-body");
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark().sparkContext());
    Broadcast<HadoopFileIO> io = jsc.broadcast(HadoopFileIO.of(spark().sparkContext()));
    String root = temp.toUri().toString();

    List<String> bodies =
        jsc.parallelize(List.of("a", "b", "c"), 3)
            .map(
                name -> {
                  byte[] body = io.value().newInputFile(root + name + ".bin").read(7, 6);
                  return new String(body, StandardCharsets.US_ASCII);
                })
            .collect();

    assertThat(bodies).containsExactly("a-body", "b-body", "c-body");
  }
}
