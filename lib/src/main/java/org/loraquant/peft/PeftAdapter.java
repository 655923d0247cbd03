package org.loraquant.peft;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.loraquant.io.InputFile;
import org.loraquant.safetensors.SafetensorsHeader;
import org.loraquant.safetensors.SafetensorsReader;
import org.loraquant.safetensors.TensorInfo;

/**
 * A PEFT LoRA adapter folder, read and validated by {@link PeftAdapterReader}: its config, the LoRA
 * pairs, and the tensors that are not LoRA factors (modules_to_save heads, biases, DoRA magnitude
 * vectors), which must be carried over intact. Holds no tensor data: factors are read on demand,
 * one byte range at a time.
 */
public final class PeftAdapter {
  private final OpenedAdapter opened;
  private final AdapterConfig config;
  private final SafetensorsReader weights;
  private final List<LoraModule> modules;
  private final Map<String, LoraModule> modulesByName;
  private final List<TensorInfo> passThrough;

  PeftAdapter(
      OpenedAdapter opened,
      AdapterConfig config,
      SafetensorsReader weights,
      List<LoraModule> modules,
      List<TensorInfo> passThrough) {
    this.opened = opened;
    this.config = config;
    this.weights = weights;
    this.modules = List.copyOf(modules);
    this.passThrough = List.copyOf(passThrough);
    Map<String, LoraModule> byName = new LinkedHashMap<>();
    for (LoraModule m : modules) {
      byName.put(m.module(), m);
    }
    this.modulesByName = byName;
  }

  /** The adapter folder. */
  public String location() {
    return opened.folder();
  }

  /** What opening it read, to open it again elsewhere without reading (see {@link OpenedAdapter}). */
  public OpenedAdapter opened() {
    return opened;
  }

  public AdapterConfig config() {
    return config;
  }

  /** The weights file ({@code adapter_model.safetensors}). */
  public InputFile weightsFile() {
    return weights.file();
  }

  public SafetensorsHeader header() {
    return weights.header();
  }

  SafetensorsReader weights() {
    return weights;
  }

  /** The LoRA pairs, sorted by module name. */
  public List<LoraModule> modules() {
    return modules;
  }

  /** The module called {@code name}, or null. */
  public LoraModule module(String name) {
    return modulesByName.get(name);
  }

  /** Every tensor that is not a LoRA factor, sorted by name. */
  public List<TensorInfo> passThrough() {
    return passThrough;
  }

  /** Values in all LoRA factors. */
  public long loraParams() {
    long sum = 0;
    for (LoraModule m : modules) {
      sum += m.params();
    }
    return sum;
  }

  /** Values in all pass-through tensors. */
  public long passThroughParams() {
    long sum = 0;
    for (TensorInfo t : passThrough) {
      sum += t.numel();
    }
    return sum;
  }

  public long totalParams() {
    return loraParams() + passThroughParams();
  }

  /** Bytes of all tensors (the data area, without the header). */
  public long tensorBytes() {
    return weights.header().tensorBytes();
  }

  /** Length of the weights file. */
  public long fileBytes() {
    return weights.header().fileLength();
  }

  @Override
  public String toString() {
    return location()
        + " ("
        + modules.size()
        + " LoRA modules, "
        + passThrough.size()
        + " pass-through tensors)";
  }
}
