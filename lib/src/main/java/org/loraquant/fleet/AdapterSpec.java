package org.loraquant.fleet;

import java.util.List;
import org.loraquant.safetensors.DType;

/**
 * Everything that determines one synthetic adapter's bytes. The generator derives it from the fleet
 * seed and the adapter's index alone, so adapter i is the same whatever the fleet size.
 *
 * @param relativePath folder of the adapter under the fleet root, '/'-separated
 * @param targets module kinds (q_proj, ...) in PEFT's target_modules
 * @param layers decoder layers that carry LoRA (all of them unless layers_to_transform is set)
 * @param decay singular values fall off as (i + 1)^-decay
 */
public record AdapterSpec(
    String relativePath,
    ModelShape shape,
    int rank,
    int alpha,
    DType dtype,
    List<String> targets,
    List<Integer> layers,
    boolean allLayers,
    double decay,
    long seed) {

  public AdapterSpec {
    targets = List.copyOf(targets);
    layers = List.copyOf(layers);
  }

  /** Number of LoRA layers (module instances), i.e. of A/B pairs. */
  public int layerCount() {
    return targets.size() * layers.size();
  }

  /** Bytes of tensor data in adapter_model.safetensors (the header comes on top). */
  public long tensorBytes() {
    long perLayerSet = 0;
    for (String kind : targets) {
      ModelShape.Module m = shape.module(kind);
      perLayerSet += (long) rank * (m.in() + m.out());
    }
    return perLayerSet * layers.size() * dtype.size();
  }
}
