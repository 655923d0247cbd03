package org.loraquant.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * A throwaway Spark program for {@link StandaloneClusterTest}: sums 1..1000 on the executors and
 * writes {@code OUTPUT_DIR/LABEL.txt} with the sum and the executor ids that did the work.
 *
 * <p>Arguments: {@code OUTPUT_DIR LABEL}. The label {@value #FAIL_LABEL} makes main throw, which
 * spark-submit turns into a non-zero exit code (client mode) or a FAILED driver (cluster mode).
 */
public final class ClusterSmokeApp {
  public static final String FAIL_LABEL = "fail";

  private ClusterSmokeApp() {}

  public static void main(String[] args) throws IOException {
    Path outputDir = Path.of(args[0]);
    String label = args[1];
    if (label.equals(FAIL_LABEL)) {
      throw new IllegalStateException("Failing on purpose: label " + FAIL_LABEL);
    }
    SparkSession spark = SparkSession.builder().appName("cluster-smoke-" + label).getOrCreate();
    try {
      JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
      JavaRDD<Integer> numbers =
          context.parallelize(IntStream.rangeClosed(1, 1000).boxed().toList(), 4);
      long sum = numbers.map(Integer::longValue).reduce(Long::sum);
      List<String> executorIds = numbers.mapPartitions(ClusterSmokeApp::executorId).collect();

      String report =
          "sum="
              + sum
              + "\n"
              + "executors="
              + new TreeSet<>(executorIds).stream().collect(Collectors.joining(","))
              + "\n";
      Files.createDirectories(outputDir);
      Files.writeString(outputDir.resolve(label + ".txt"), report, StandardCharsets.UTF_8);
    } finally {
      spark.stop();
    }
  }

  private static Iterator<String> executorId(Iterator<Integer> partition) {
    return List.of(SparkEnv.get().executorId()).iterator();
  }
}
