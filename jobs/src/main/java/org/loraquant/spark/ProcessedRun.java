package org.loraquant.spark;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.loraquant.plan.LayerTask;

/**
 * What the compression phase of a run did, before any stats are written.
 *
 * @param inputs every adapter found under the input
 * @param outputs the manifests of the existing outputs of those adapters, as found at the start
 * @param skipped adapters whose output was already current
 * @param outcomes what happened to every other adapter
 * @param tasks the layer tasks the run planned
 */
public record ProcessedRun(
    List<DiscoveredAdapter> inputs,
    Map<String, OutputState> outputs,
    Set<String> skipped,
    List<AdapterOutcome> outcomes,
    List<LayerTask> tasks,
    Instant decidedAt) {}
