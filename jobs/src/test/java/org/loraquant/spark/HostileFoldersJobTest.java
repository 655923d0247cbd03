package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.format.CompressedFormat;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.Fifos;
import org.loraquant.testing.SyntheticAdapter;

/**
 * One odd folder neither stops nor hangs the fleet: weights that are a directory and a config that
 * is a FIFO each become that adapter's failed row, and a folder whose name starts like a URI
 * scheme ({@code run:2026-03-01}, which failed the whole run on the driver) is compressed like any
 * other. The timeout only guards against the hang a FIFO
 * caused (a task blocked in open(2) forever), so a regression fails instead of stalling the build.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HostileFoldersJobTest extends SparkTestBase {
  @TempDir Path temp;

  private static void adapter(Path dir) throws Exception {
    new SyntheticAdapter(3, 4)
        .linear("base_model.model.layers.0.q_proj", 12, 10, 4, DType.F32, false)
        .writeTo(dir);
  }

  @Test
  void directoryWeightsAndFifoConfigsAreFailedRowsAndAColonNameIsCompressed() throws Exception {
    Path in = temp.resolve("in");
    adapter(in.resolve("tenant/good"));
    adapter(in.resolve("run:2026-03-01"));
    adapter(in.resolve("tenant/dir-weights"));
    Path weights = in.resolve("tenant/dir-weights/adapter_model.safetensors");
    Files.delete(weights);
    Files.createDirectories(weights.resolve("shard"));
    adapter(in.resolve("tenant/fifo-config"));
    Path config = in.resolve("tenant/fifo-config/adapter_config.json");
    Files.delete(config);
    Fifos.make(config);
    Path out = temp.resolve("out");

    RunSummary run =
        JobFixtures.run(
            spark(),
            JobFixtures.options(in, out, temp.resolve("stats"), JobFixtures.DAY_ONE));

    assertThat(run.compressed()).isEqualTo(2);
    assertThat(run.failed()).isEqualTo(2);
    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.failures().get("tenant/dir-weights"))
        .endsWith("adapter_model.safetensors: not a regular file (a directory); refused");
    assertThat(run.failures().get("tenant/fifo-config"))
        .endsWith("adapter_config.json: not a regular file (a FIFO); refused");
    assertThat(run.failures()).containsOnlyKeys("tenant/dir-weights", "tenant/fifo-config");
    assertThat(out.resolve("tenant/good").resolve(CompressedFormat.MANIFEST_FILE)).exists();
    assertThat(out.resolve("run:2026-03-01").resolve(CompressedFormat.MANIFEST_FILE)).exists();
    try (StatsCheck duck = new StatsCheck(temp.resolve("stats"))) {
      duck.assertInvariants();
      assertThat(duck.count("SELECT count(*) FROM current_adapters WHERE status = 'failed'"))
          .isEqualTo(2);
    }
  }
}
