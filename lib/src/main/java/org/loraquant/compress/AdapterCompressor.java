package org.loraquant.compress;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.loraquant.codec.BudgetCodec;
import org.loraquant.codec.BudgetLayerResult;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.codec.LayerStats;
import org.loraquant.codec.LoraQuantCodec;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.format.BudgetLayerLayout;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.CompressedFormat;
import org.loraquant.format.CompressedLayerLayout;
import org.loraquant.format.NamedTensor;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.format.SourceFactors;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.TensorInfo;

/**
 * Turns a PEFT adapter into a compressed adapter. The layer step and the assembly step are
 * separate so that the Spark job can compress layers on different executors and assemble them
 * per adapter afterwards; {@link #compress} does both in one go for the command line. Either way
 * the result is the same, byte for byte.
 */
public final class AdapterCompressor {
  private AdapterCompressor() {}

  /** Compresses every LoRA layer of {@code adapter}, then assembles. */
  public static CompressionResult compress(PeftAdapter adapter, CodecSettings settings) {
    return compress(adapter, settings, LinearAlgebra.current());
  }

  /**
   * As {@link #compress(PeftAdapter, CodecSettings)} with an explicit LAPACK backend: output is
   * byte-identical for one backend, so golden files pin the pure-Java one.
   */
  public static CompressionResult compress(PeftAdapter adapter, CodecSettings settings, LinearAlgebra linalg) {
    Map<String, CompressedLayerResult> layers = new TreeMap<>();
    for (LoraModule module : adapter.modules()) {
      layers.put(module.module(), LoraQuantCodec.compress(PeftAdapterReader.readFactors(adapter, module), settings, linalg));
    }
    return assemble(adapter, settings, layers);
  }

  /**
   * The budget mode (format version 2): every LoRA layer under {@code settings}' budget, in its
   * scope (docs/ALGORITHM.md, "Budget mode"). All layers' factors are read first: scope
   * {@code adapter} needs every layer's table before it can encode any.
   *
   * @throws IllegalArgumentException if the budget cannot hold the smallest storable form
   */
  public static BudgetCompressionResult compressBudget(PeftAdapter adapter, BudgetSettings settings,
      LinearAlgebra linalg) {
    List<LoraModule> modules = new ArrayList<>(adapter.modules());
    modules.sort((x, y) -> x.module().compareTo(y.module()));
    List<LoraFactors> factors = new ArrayList<>();
    for (LoraModule module : modules) {
      factors.add(PeftAdapterReader.readFactors(adapter, module));
    }
    List<BudgetLayerResult> results = BudgetCodec.compress(factors, settings, linalg);
    Map<String, BudgetLayerResult> byModule = new TreeMap<>();
    for (int i = 0; i < modules.size(); i++) {
      byModule.put(modules.get(i).module(), results.get(i));
    }
    return assembleBudget(adapter, settings, byModule);
  }

  /**
   * The budget mode's {@link #assemble}: the version 2 adapter from its encoded layers (one per
   * module of {@code adapter}, as {@link BudgetCodec#compress} gave them for the modules in name
   * order) and the pass-through tensors, which are read here.
   */
  public static BudgetCompressionResult assembleBudget(PeftAdapter adapter,
      BudgetSettings settings, Map<String, BudgetLayerResult> byModule) {
    List<CompressedAdapter.Layer> layers = new ArrayList<>();
    List<BudgetCompressionResult.Layer> reports = new ArrayList<>();
    for (LoraModule module : adapter.modules()) {
      BudgetLayerResult result = byModule.get(module.module());
      if (result == null) {
        throw new IllegalArgumentException(adapter.location() + ": no compressed layer for module " + module.module());
      }
      SourceFactors source = source(adapter, module);
      layers.add(new CompressedAdapter.Layer(module.module(), source, result.layer()));
      reports.add(new BudgetCompressionResult.Layer(module.module(), result.stats(), module.bytes(),
          BudgetLayerLayout.storedBytes(module.module(), result.layer())));
    }
    if (byModule.size() != layers.size()) {
      throw new IllegalArgumentException(adapter.location() + ": " + byModule.size()
          + " compressed layers given for " + layers.size() + " modules");
    }
    CompressedAdapter compressed = new CompressedAdapter(adapter.config().tree(), codecBlock(settings),
        adapter.header().metadata(), layers, passThrough(adapter));
    return new BudgetCompressionResult(compressed, settings, reports);
  }

  /** The budget settings as written into a version 2 compressed adapter's config. */
  public static ObjectNode codecBlock(BudgetSettings settings) {
    ObjectNode block = JsonNodeFactory.instance.objectNode();
    block.put(CompressedFormat.CONFIG_MODE, CompressedFormat.MODE_BUDGET);
    block.put(CodecSetting.BUDGET.configKey(), settings.budgetBits());
    block.put(CodecSetting.BUDGET_SCOPE.configKey(), BudgetSettings.scopeName(settings.scope()));
    if (settings.weightName() != null) {
      block.put(CodecSetting.BUDGET_WEIGHT.configKey(), settings.weightName());
    }
    block.put(CodecSetting.LEVELS.configKey(), BudgetSettings.levelsName(settings.levels()));
    block.put(CodecSetting.REFIT.configKey(), settings.refit());
    block.put(CodecSetting.GROUP_SIZE.configKey(), settings.groupSize());
    block.put(CompressedFormat.SETTINGS_FINGERPRINT_KEY, settings.fingerprint());
    return block;
  }

  /** Reads one layer's two tensors (by byte range) and compresses them. */
  public static CompressedLayerResult compressLayer(PeftAdapter adapter, LoraModule module, CodecSettings settings) {
    return LoraQuantCodec.compress(PeftAdapterReader.readFactors(adapter, module), settings);
  }

  /**
   * Builds the compressed adapter from its compressed layers (one per module of {@code adapter})
   * and the pass-through tensors, which are read here.
   */
  public static CompressionResult assemble(
      PeftAdapter adapter, CodecSettings settings, Map<String, CompressedLayerResult> byModule) {
    List<CompressedAdapter.Layer> layers = new ArrayList<>();
    List<LayerReport> reports = new ArrayList<>();
    for (LoraModule module : adapter.modules()) {
      CompressedLayerResult result = byModule.get(module.module());
      if (result == null) {
        throw new IllegalArgumentException(adapter.location() + ": no compressed layer for module " + module.module());
      }
      SourceFactors source = source(adapter, module);
      layers.add(new CompressedAdapter.Layer(module.module(), source, result.layer()));
      long stored = CompressedLayerLayout.storedBytes(module.module(), result.layer());
      reports.add(new LayerReport(module.module(), withEffectiveBits(result.stats(), stored * 8), module.bytes(), stored));
    }
    if (byModule.size() != layers.size()) {
      throw new IllegalArgumentException(adapter.location() + ": " + byModule.size()
          + " compressed layers given for " + layers.size() + " modules");
    }
    CompressedAdapter compressed = new CompressedAdapter(
        adapter.config().tree(), codecBlock(settings), adapter.header().metadata(), layers, passThrough(adapter));
    return new CompressionResult(compressed, settings, reports);
  }

  private static SourceFactors source(PeftAdapter adapter, LoraModule module) {
    TensorInfo a = module.a();
    TensorInfo b = module.b();
    if (CompressedLayerLayout.isLayerTensor(module.module())) {
      throw new InvalidAdapterException(adapter.weightsFile().location(), a.name(),
          "the module name contains '.lq.', which the compressed format reserves for its layers");
    }
    return new SourceFactors(a.name(), a.dtype(), a.shape(), b.name(), b.dtype(), b.shape());
  }

  private static List<NamedTensor> passThrough(PeftAdapter adapter) {
    List<NamedTensor> passThrough = new ArrayList<>();
    for (TensorInfo t : adapter.passThrough()) {
      if (CompressedLayerLayout.isLayerTensor(t.name())) {
        throw new InvalidAdapterException(adapter.weightsFile().location(), t.name(),
            "the name contains '.lq.', which the compressed format reserves for its layers; rename the tensor");
      }
      passThrough.add(new NamedTensor(t.name(), t.dtype(), t.shape(), PeftAdapterReader.readTensorBytes(adapter, t)));
    }
    return passThrough;
  }

  /** The settings as written into the compressed adapter's config. */
  public static ObjectNode codecBlock(CodecSettings settings) {
    ObjectNode block = JsonNodeFactory.instance.objectNode();
    block.put(CodecSetting.RHO.configKey(), settings.rho());
    block.put(CodecSetting.BITS_HIGH.configKey(), settings.bitsHigh());
    block.put(CodecSetting.GROUP_SIZE.configKey(), settings.groupSize());
    block.put(CodecSetting.SPLIT.configKey(), settings.splitRule().name().toLowerCase(Locale.ROOT));
    block.put(CodecSetting.REFINE.configKey(), settings.refinement().name().toLowerCase(Locale.ROOT));
    block.put(CompressedFormat.SETTINGS_FINGERPRINT_KEY, settings.fingerprint());
    return block;
  }

  /** The codec counts a header allowance; the format knows the exact bytes, so they replace it. */
  private static LayerStats withEffectiveBits(LayerStats s, long effectiveBits) {
    return new LayerStats(s.m(), s.n(), s.rank(), s.k(), s.h(), s.singularValues(), s.highEnergyShare(),
        s.payloadBits(), s.params(), effectiveBits, s.relError(), s.errorHigh(), s.errorLow(),
        s.zeroUpdate(), s.nanos());
  }
}
