package org.loraquant.spark.stage;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.loraquant.hadoop.RequestCounter;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.LayerWork;
import org.loraquant.stats.AdapterStatus;

/**
 * First executor stage: opens an adapter (config and safetensors header, no tensor data) and lists
 * its layers with their sizes and places in the file, the input of the layer planner. The folder's
 * files and lengths come from discovery's listing, so opening costs two reads: the config, and the
 * header with its length prefix (one more for a header over 128 KB). Small adapters are not opened
 * here but in their layer task, with the rest of their file ({@code RunPlanner.readWhole}).
 */
public final class OpenStage {
  private OpenStage() {}

  public static OpenOutcome open(JobContext context, String relativePath) {
    DiscoveredAdapter discovered = context.adapter(relativePath);
    RequestCounter counter = new RequestCounter();
    try {
      PeftAdapter adapter =
          PeftAdapterReader.open(
              context.io().counting(counter), discovered.location(), listed(discovered));
      List<LayerWork> layers = layers(relativePath, adapter);
      return new OpenOutcome(
          relativePath,
          AdapterStatus.COMPRESSED,
          null,
          layers,
          adapter.opened(),
          counter.snapshot());
    } catch (RuntimeException e) {
      return new OpenOutcome(
          relativePath,
          AdapterErrors.classify(e),
          AdapterErrors.message(e),
          List.of(),
          null,
          counter.snapshot());
    }
  }

  /** The layers of {@code adapter}, placed where their factors start in its weights file. */
  static List<LayerWork> layers(String relativePath, PeftAdapter adapter) {
    List<LayerWork> layers = new ArrayList<>(adapter.modules().size());
    for (LoraModule module : adapter.modules()) {
      long position = Math.min(module.a().absoluteBegin(), module.b().absoluteBegin());
      layers.add(new LayerWork(relativePath, module.module(), module.bytes(), position));
    }
    return layers;
  }

  /** The folder's files by name with their lengths, as discovery listed them. */
  static Map<String, Long> listed(DiscoveredAdapter discovered) {
    Map<String, Long> files = new TreeMap<>();
    for (DiscoveredAdapter.AdapterFile f : discovered.files()) {
      files.put(f.name(), f.size());
    }
    return files;
  }
}
