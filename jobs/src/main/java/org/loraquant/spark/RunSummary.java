package org.loraquant.spark;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.stats.AdapterTotals;
import org.loraquant.spark.stage.OutputState;

/**
 * The outcome of a run, as printed at its end and as the exit code reports it.
 *
 * @param bytesIn input bytes of the adapters compressed by this run
 * @param bytesOut output bytes of the adapters compressed by this run
 * @param fleetParams parameters of every current output (compressed now or skipped)
 * @param fleetPayloadBits their payload bits
 * @param fleetEffectiveBits their effective bits (output bytes x 8)
 * @param fleetWeightedRelError rel_error weighted by parameters over every current output
 * @param failures message by adapter, for the failed ones
 * @param reconciled adapters whose stats were recovered from their sidecar
 * @param requests storage requests made for the adapters this run read (opened, compressed or
 *     failed), by kind, and their bytes read: the sum of the adapters table's {@code requests}
 * @param fleet the run's fleet allocation (budget scope fleet), null when there was none
 */
public record RunSummary(
    String runId,
    int compressed,
    int skipped,
    int failed,
    int incomplete,
    int reconciled,
    long bytesIn,
    long bytesOut,
    long fleetParams,
    long fleetPayloadBits,
    long fleetEffectiveBits,
    double fleetWeightedRelError,
    double wallSeconds,
    int maxFailed,
    Map<String, String> failures,
    StorageRequests requests,
    FleetRun fleet) {

  /** The summary of a run from what its phases did. */
  static RunSummary of(
      JobOptions options, ProcessedRun processed, int reconciled, double seconds) {
    Map<String, DiscoveredAdapter> inputs = processed.inputsByPath();
    int compressed = 0;
    int failed = 0;
    int incomplete = 0;
    long bytesIn = 0;
    long bytesOut = 0;
    long params = 0;
    long payload = 0;
    long effective = 0;
    double errorTimesParams = 0;
    Map<String, String> failures = new TreeMap<>();
    StorageRequests requests = StorageRequests.NONE;
    for (AdapterOutcome o : processed.outcomes()) {
      requests = requests.plus(o.requests());
      switch (o.status()) {
        case COMPRESSED -> {
          compressed++;
          bytesIn += inputs.get(o.adapter()).fingerprintedBytes();
          bytesOut += o.bytesOut();
          AdapterTotals t = o.totals();
          params += t.params();
          payload += t.payloadBits();
          effective += o.bytesOut() * 8;
          errorTimesParams += t.weightedRelError() * t.params();
        }
        case FAILED -> {
          failed++;
          failures.put(o.adapter(), o.message());
        }
        case INCOMPLETE -> incomplete++;
        case SKIPPED -> throw new IllegalStateException("skipped adapters have no outcome");
      }
    }
    for (String name : processed.skipped()) {
      OutputState s = processed.outputs().get(name);
      params += s.totals().params();
      payload += s.totals().payloadBits();
      effective += s.output().bytes() * 8;
      errorTimesParams += s.totals().weightedRelError() * s.totals().params();
    }
    return new RunSummary(
        options.runId(),
        compressed,
        processed.skipped().size(),
        failed,
        incomplete,
        reconciled,
        bytesIn,
        bytesOut,
        params,
        payload,
        effective,
        params == 0 ? 0 : errorTimesParams / params,
        seconds,
        options.maxFailed(),
        failures,
        requests,
        processed.fleet());
  }

  /** Exit code of the run: 0, or 1 when more adapters failed than allowed. */
  public int exitCode() {
    return failed > maxFailed ? 1 : 0;
  }

  /** How many failures are listed by name in the summary; the stats table has them all. */
  static final int FAILURES_LISTED = 10;

  public List<String> lines() {
    List<String> lines = new java.util.ArrayList<>();
    lines.add(
        String.format(
            Locale.ROOT,
            "run %s: %d adapters compressed, %d skipped (up to date), %d failed, %d incomplete"
                + " (upload in progress)%s",
            runId,
            compressed,
            skipped,
            failed,
            incomplete,
            reconciled == 0 ? "" : "; stats of " + reconciled + " recovered from sidecars"));
    lines.add(
        compressed == 0
            ? "compressed this run: nothing"
            : String.format(
                Locale.ROOT,
                "compressed this run: %.3f GB in, %.3f GB out, ratio %.2f",
                bytesIn / 1e9,
                bytesOut / 1e9,
                bytesOut == 0 ? 0.0 : (double) bytesIn / bytesOut));
    lines.add(
        String.format(
            Locale.ROOT,
            "fleet (all current outputs): %d params, %.3f payload / %.3f effective bits per param,"
                + " weighted rel_error %.4f",
            fleetParams,
            fleetParams == 0 ? 0.0 : (double) fleetPayloadBits / fleetParams,
            fleetParams == 0 ? 0.0 : (double) fleetEffectiveBits / fleetParams,
            fleetWeightedRelError));
    if (fleet != null) {
      lines.add(fleet.summaryLine());
    }
    int read = compressed + failed + incomplete;
    lines.add(
        read == 0
            ? "storage for the adapters read: nothing"
            : String.format(
                Locale.ROOT,
                "storage for the %d adapters read: %s (%.1f requests per adapter)",
                read,
                requests,
                (double) requests.total() / read));
    lines.add(
        String.format(
            Locale.ROOT,
            "wall time %.1f s (%.1f MB/s of input)",
            wallSeconds,
            bytesIn / 1e6 / Math.max(wallSeconds, 1e-9)));
    failures.entrySet().stream()
        .limit(FAILURES_LISTED)
        .forEach(
            e ->
                lines.add(
                    "failed: " + (e.getKey().isEmpty() ? "." : e.getKey()) + ": " + e.getValue()));
    if (failures.size() > FAILURES_LISTED) {
      lines.add(
          "... and "
              + (failures.size() - FAILURES_LISTED)
              + " more failed (see the adapters table)");
    }
    if (exitCode() != 0) {
      lines.add("FAILED: " + failed + " adapters failed, more than --max-failed " + maxFailed);
    }
    return lines;
  }
}
