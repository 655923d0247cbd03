package org.loraquant.spark;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.LayerTask;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.spark.stage.OutputState;

/**
 * What the compression phase of a run did, before any stats are written.
 *
 * @param inputs every adapter found under the input
 * @param outputs the manifests of the existing outputs of those adapters, as found at the start
 * @param skipped adapters whose output was already current
 * @param outcomes what happened to every other adapter, without the layer reports ({@link
 *     AdapterOutcome#withoutLayers}), so the driver's memory does not grow with the layers
 * @param tasks the layer tasks the run planned: a small adapter read whole in its task is one entry
 *     there ({@code LayerWork.wholeAdapter}, its file's length), its layers found by the task
 * @param layerRows the layers rows of the adapters compressed now, computed on the executors from
 *     {@code assembled}
 * @param assembled the assembly stage's outcomes with their layer reports, persisted on the
 *     executors until the stats are written; null when nothing was assembled
 * @param fleet the run's fleet allocation (budget scope fleet); null in the other scopes and
 *     modes, or when nothing was allocated
 */
public record ProcessedRun(
    List<DiscoveredAdapter> inputs,
    Map<String, OutputState> outputs,
    Set<String> skipped,
    List<AdapterOutcome> outcomes,
    List<LayerTask> tasks,
    Instant decidedAt,
    JavaRDD<Row> layerRows,
    JavaRDD<AdapterOutcome> assembled,
    FleetRun fleet) {

  /** The multiplier of the run's fleet allocation; null when there was none. */
  public Double fleetLambda() {
    return fleet == null ? null : fleet.lambda();
  }

  /** {@link #inputs} by relative path. */
  public Map<String, DiscoveredAdapter> inputsByPath() {
    Map<String, DiscoveredAdapter> byPath = new HashMap<>();
    inputs.forEach(a -> byPath.put(a.relativePath(), a));
    return byPath;
  }

  /** Frees the persisted outcomes; call once the stats are written (or the run gave up). */
  public void release() {
    if (assembled != null) {
      assembled.unpersist(false);
    }
  }
}
