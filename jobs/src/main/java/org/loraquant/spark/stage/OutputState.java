package org.loraquant.spark.stage;

import java.io.Serializable;
import java.time.Instant;
import java.time.LocalDate;
import org.loraquant.codec.CompressionSettings;
import org.loraquant.plan.ExistingOutput;
import org.loraquant.plan.RunPlanner;
import org.loraquant.stats.AdapterTotals;

/**
 * What the manifest of an existing output says, without its per-layer reports (which stay on the
 * executors unless a run has to reconcile them).
 *
 * @param runId run that wrote the output; null when no job run did (e.g. {@code compress})
 * @param runDate that run's date; null with runId
 * @param finishedAt when that run committed the output; null when unknown
 * @param unreadable the reader's message when the manifest could not be parsed, else null
 */
public record OutputState(
    ExistingOutput output,
    String settingsFingerprint,
    String inputFingerprint,
    String runId,
    LocalDate runDate,
    Instant finishedAt,
    AdapterTotals totals,
    String unreadable)
    implements Serializable, RunPlanner.ManifestSummary {
  private static final long serialVersionUID = 1L;

  /** Keys of the manifest's run map. */
  public static final String RUN_ID = "run_id";

  public static final String RUN_DATE = "run_date";
  public static final String FINISHED_AT = "finished_at";

  static OutputState of(ExistingOutput output, ManifestStage.Parsed manifest) {
    String runId = manifest.run().get(RUN_ID);
    String runDate = manifest.run().get(RUN_DATE);
    String finishedAt = manifest.run().get(FINISHED_AT);
    return new OutputState(
        output,
        manifest.settingsFingerprint(),
        manifest.inputFingerprint(),
        runId,
        runDate == null ? null : LocalDate.parse(runDate),
        finishedAt == null ? null : Instant.parse(finishedAt),
        AdapterTotals.of(manifest.layers()),
        null);
  }

  static OutputState unreadable(ExistingOutput output, String message) {
    return new OutputState(output, null, null, null, null, null, null, message);
  }

  /**
   * True when this output was made by a job run from exactly this input with exactly these
   * settings, so compressing again would give the same bytes.
   */
  public boolean isCurrentFor(String inputFingerprint, CompressionSettings settings) {
    return RunPlanner.isCurrent(this, inputFingerprint, settings.fingerprint());
  }

  @Override
  public boolean readable() {
    return unreadable == null;
  }

  @Override
  public boolean committedByARun() {
    return runId != null && runDate != null && finishedAt != null;
  }
}
