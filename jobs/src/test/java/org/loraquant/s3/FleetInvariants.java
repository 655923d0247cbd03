package org.loraquant.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What must hold after any successful run, however many runs failed before it (docs/STATS.md,
 * "Invariants"): one complete output per adapter, one current set of layer rows per adapter, and
 * no duplicated rows.
 */
final class FleetInvariants {
  static final String MANIFEST = "loraquant_manifest.json";

  private FleetInvariants() {}

  static void assertEveryAdapterPresentOnce(S3DropFolder drop, List<String> adapters)
      throws IOException, SQLException {
    // Staging folders count too (a hidden copy is still a second output): on S3 the writer
    // writes in place, manifest last, so even a failed run leaves none behind.
    Map<String, Integer> manifests = new TreeMap<>();
    for (String key : drop.keys("out")) {
      if (key.endsWith("/" + MANIFEST)) {
        String adapter = key.substring("out/".length(), key.length() - MANIFEST.length() - 1);
        manifests.merge(adapter, 1, Integer::sum);
      }
    }
    Map<String, Integer> once = new TreeMap<>();
    adapters.forEach(a -> once.put(a, 1));
    assertThat(manifests).as("complete outputs (manifests) per adapter").isEqualTo(once);

    assertThat(drop.query("SELECT adapter, run_id, module, count(*) AS n FROM layers"
            + " GROUP BY ALL HAVING count(*) > 1"))
        .as("duplicate layer rows for one (adapter, run_id, module)")
        .isEmpty();
    assertThat(drop.query("SELECT adapter, run_id, count(*) AS n FROM adapters"
            + " GROUP BY ALL HAVING count(*) > 1"))
        .as("duplicate adapter rows for one (adapter, run_id)")
        .isEmpty();

    // The current state of each adapter (its latest row) points at exactly one set of layer rows,
    // as many as its output has layers.
    List<Map<String, Object>> current =
        drop.query(
            "WITH latest AS (SELECT * FROM adapters QUALIFY row_number() OVER"
                + " (PARTITION BY adapter ORDER BY run_id DESC, finished_at DESC) = 1)"
                + " SELECT a.adapter, a.status, a.layers, count(l.module) AS layer_rows,"
                + " count(DISTINCT l.run_id) AS layer_runs"
                + " FROM latest a LEFT JOIN layers l"
                + " ON l.adapter = a.adapter AND l.run_id = a.output_run_id"
                + " GROUP BY ALL ORDER BY a.adapter");
    assertThat(current).extracting(row -> row.get("adapter")).containsExactlyElementsOf(
        adapters.stream().sorted().toList());
    for (Map<String, Object> row : current) {
      assertThat(row.get("status")).as("state of %s", row.get("adapter"))
          .isIn("compressed", "skipped");
      assertThat(((Number) row.get("layer_runs")).longValue())
          .as("runs whose layer rows are current for %s", row.get("adapter")).isEqualTo(1);
      assertThat(((Number) row.get("layer_rows")).longValue())
          .as("current layer rows of %s", row.get("adapter"))
          .isEqualTo(((Number) row.get("layers")).longValue());
    }
  }

  /** Exit code 0, or 1 with one line on stderr that says the run failed (no stack trace). */
  static void assertCompletedOrFailedCleanly(S3DropFolder.Run run) {
    assertThat(run.exitCode()).as("exit code; stderr: %s", run.err()).isIn(0, 1);
    if (run.exitCode() == 1) {
      assertThat(run.err().lines().filter(line -> !line.isBlank()))
          .as("stderr of the failed run")
          .singleElement()
          .asString()
          .contains("failed");
    }
  }

  /** A rerun on healthy storage completes, and every adapter is then present exactly once. */
  static void assertARerunCompletes(S3DropFolder drop, List<String> adapters)
      throws IOException, SQLException {
    S3DropFolder.Run rerun = drop.recompress();
    assertThat(rerun.exitCode())
        .as("rerun exit code; stdout: %s; stderr: %s", rerun.out(), rerun.err())
        .isZero();
    assertThat(rerun.out()).contains("0 failed, 0 incomplete");
    assertEveryAdapterPresentOnce(drop, adapters);
  }
}
