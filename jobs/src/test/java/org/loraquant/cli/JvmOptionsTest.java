package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.launcher.JavaModuleOptions;
import org.junit.jupiter.api.Test;
import org.loraquant.testing.TestPaths;

/**
 * bin/loraquant starts Java with what Spark's own launcher gives every JVM on Java 17 (spark-submit
 * adds it): without the --add-opens a run that reads the stats back fails (IllegalAccessException
 * ... sun.util.calendar.ZoneInfo). The one declaration is jobs/pom.xml's spark.jvm.options,
 * written to target/jvm-options.txt for the launcher.
 */
class JvmOptionsTest {
  /** Left out on purpose (jobs/pom.xml says why). */
  private static final String VECTOR_MODULE = "--add-modules=jdk.incubator.vector";

  @Test
  void theLauncherGetsSparksJavaModuleOptions() throws IOException {
    List<String> declared =
        Arrays.asList(
            Files.readString(TestPaths.jobsTarget().resolve("jvm-options.txt")).strip().split(" "));
    List<String> spark =
        new ArrayList<>(Arrays.asList(JavaModuleOptions.defaultModuleOptions().split(" ")));
    assertThat(spark).as("Spark's list still has the entry we leave out").contains(VECTOR_MODULE);
    spark.remove(VECTOR_MODULE);
    assertThat(declared).containsExactlyElementsOf(spark);
  }

  @Test
  void binLoraquantStartsJavaWithThem() throws IOException {
    String script =
        Files.readString(TestPaths.jobsModule().getParent().resolve("bin").resolve("loraquant"));
    assertThat(script)
        .contains("jvm_options_file=\"$root/jobs/target/jvm-options.txt\"")
        .contains("read -r -a spark_jvm_options < \"$jvm_options_file\"")
        .contains("exec java -Xmx8g \"${spark_jvm_options[@]}\"");
  }
}
