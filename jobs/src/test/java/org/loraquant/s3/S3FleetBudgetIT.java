package org.loraquant.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.testing.S3ProxyServer;
import org.loraquant.testing.UpdateError;

/**
 * One bit budget over a fleet on S3 (issue 20, {@code --budget-scope fleet}), from s3a:// to
 * s3a:// through {@code loraquant recompress} against S3Proxy, as {@link S3DropFolderIT} runs the
 * job: the outputs decode to the errors the stats record, the stats carry the scope, weight and
 * multiplier, the run spends at most its budget, and a rerun skips every adapter and leaves the
 * outputs byte for byte as they were.
 */
class S3FleetBudgetIT {
  private static final String[] FLEET_BUDGET = {"--budget", "1.4", "--budget-scope", "fleet"};

  @TempDir Path work;

  @Test
  void oneBudgetOverAFleetOnS3DecodesRecordsItsLambdaAndARerunSkips() throws Exception {
    try (S3ProxyServer store = S3ProxyServer.start();
        S3DropFolder drop = S3DropFolder.create(store, work)) {
      // Two passes over the layers and the allocator's aggregations: a longer run than the other
      // S3 tests', whose 5-second leases a starved JVM on a busy machine can fail to renew.
      drop.useLeaseSeconds(60);
      List<String> adapters = drop.uploadFleet(3, 61);

      S3DropFolder.Run run = drop.recompress(FLEET_BUDGET);

      assertThat(run.exitCode()).as("exit code; stderr: %s", run.err()).isZero();
      assertThat(run.out()).contains("3 adapters compressed, 0 skipped");
      assertThat(run.out().lines().filter(l -> l.startsWith("fleet budget")))
          .singleElement().asString()
          .startsWith("fleet budget 1.4 bits per param (scope fleet, weight energy): lambda ");
      String runId = drop.lastRunId();
      List<Map<String, Object>> rows = drop.query("SELECT adapter, status, budget_scope,"
          + " budget_weight, budget_lambda, tensor_bits, params FROM adapters"
          + " WHERE run_id = '" + runId + "'");
      assertThat(rows).extracting(r -> r.get("adapter")).containsExactlyInAnyOrderElementsOf(adapters);
      for (Map<String, Object> row : rows) {
        assertThat(row).containsEntry("status", "compressed").containsEntry("budget_scope", "fleet")
            .containsEntry("budget_weight", "energy");
        assertThat((Double) row.get("budget_lambda")).isPositive()
            .isEqualTo(rows.get(0).get("budget_lambda"));
      }
      long bits = rows.stream().mapToLong(r -> ((Number) r.get("tensor_bits")).longValue()).sum();
      long params = rows.stream().mapToLong(r -> ((Number) r.get("params")).longValue()).sum();
      assertThat(bits).as("stored tensor bits of the fleet").isPositive()
          .isLessThanOrEqualTo((long) Math.floor(1.4 * params));

      // Every stored layer decodes to the error its stats row records.
      Map<String, Double> recorded = drop.query("SELECT adapter, module, rel_error FROM layers"
              + " WHERE run_id = '" + runId + "' AND budget_scope = 'fleet'").stream()
          .collect(Collectors.toMap(r -> r.get("adapter") + " " + r.get("module"),
              r -> (Double) r.get("rel_error")));
      Path local = Files.createTempDirectory(work, "copies-");
      for (String prefix : List.of("in", "out")) {
        drop.fs().copyToLocalFile(false, new org.apache.hadoop.fs.Path(drop.uri(prefix)),
            new org.apache.hadoop.fs.Path(local.toUri()), true);
      }
      LocalFileIO io = new LocalFileIO();
      Map<String, Double> measured = new HashMap<>();
      for (String adapter : adapters) {
        PeftAdapter source = PeftAdapterReader.open(io, local.resolve("in").resolve(adapter).toString());
        CompressedAdapter stored =
            CompressedAdapterReader.read(io, local.resolve("out").resolve(adapter).toString()).adapter();
        assertThat(stored.formatVersion()).isEqualTo(CompressedFormat.BUDGET_FORMAT_VERSION);
        for (CompressedAdapter.Layer layer : stored.layers()) {
          measured.put(adapter + " " + layer.module(), UpdateError.of(
                  PeftAdapterReader.readFactors(source, source.module(layer.module())),
                  layer.decode().toLoraFactors())
              .relative());
        }
      }
      assertThat(measured.keySet()).as("stored layers against layer rows")
          .isEqualTo(recorded.keySet()).isNotEmpty();
      measured.forEach((layer, error) -> assertThat(error).as(layer)
          .isCloseTo(recorded.get(layer), within(1e-6 + 1e-4 * recorded.get(layer))));

      // The rerun: same input, same settings, nothing to allocate.
      Predicate<String> notTheLock = key -> !key.contains("_loraquant_lock");
      Map<String, String> outputs = withKeys(drop.checksums("out"), notTheLock);
      S3DropFolder.Run rerun = drop.recompress(FLEET_BUDGET);

      assertThat(rerun.exitCode()).as("exit code; stderr: %s", rerun.err()).isZero();
      assertThat(rerun.out()).contains("0 adapters compressed, 3 skipped");
      assertThat(rerun.out().lines()).noneMatch(l -> l.startsWith("fleet budget"));
      String rerunId = drop.lastRunId();
      assertThat(rerunId).isNotEqualTo(runId);
      assertThat(drop.query("SELECT status, budget_scope, budget_lambda, output_run_id"
              + " FROM adapters WHERE run_id = '" + rerunId + "'"))
          .hasSize(3)
          .allSatisfy(r -> {
            assertThat(r).containsEntry("status", "skipped").containsEntry("budget_scope", "fleet")
                .containsEntry("output_run_id", runId);
            assertThat(r.get("budget_lambda")).as("a run that skipped allocated nothing").isNull();
          });
      assertThat(withKeys(drop.checksums("out"), notTheLock)).as("outputs after the rerun")
          .isEqualTo(outputs);
      FleetInvariants.assertEveryAdapterPresentOnce(drop, adapters);
    }
  }

  private static Map<String, String> withKeys(Map<String, String> map, Predicate<String> keep) {
    return map.entrySet().stream().filter(e -> keep.test(e.getKey()))
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
  }
}
