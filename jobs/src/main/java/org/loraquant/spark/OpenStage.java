package org.loraquant.spark;

import java.util.ArrayList;
import java.util.List;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.LayerWork;

/**
 * First executor stage: opens an adapter (config and safetensors header, no tensor data) and lists
 * its layers with their sizes, the input of the layer planner.
 */
final class OpenStage {
  private OpenStage() {}

  static OpenOutcome open(JobContext context, String relativePath) {
    DiscoveredAdapter discovered = context.adapter(relativePath);
    try {
      PeftAdapter adapter = PeftAdapterReader.open(context.io(), discovered.location());
      List<LayerWork> layers = new ArrayList<>(adapter.modules().size());
      for (LoraModule module : adapter.modules()) {
        layers.add(new LayerWork(relativePath, module.module(), module.bytes()));
      }
      return new OpenOutcome(relativePath, AdapterStatus.COMPRESSED, null, layers);
    } catch (RuntimeException e) {
      return new OpenOutcome(
          relativePath, AdapterErrors.classify(e), AdapterErrors.message(e), List.of());
    }
  }
}
