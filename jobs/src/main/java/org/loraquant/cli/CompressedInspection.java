package org.loraquant.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.loraquant.codec.BudgetLayer;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CompressedLayer;
import org.loraquant.codec.QuantTier;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.BudgetLayerLayout;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.format.CompressedFormat;
import org.loraquant.format.CompressedLayerLayout;
import org.loraquant.format.NamedTensor;
import org.loraquant.io.FileIO;
import org.loraquant.io.FolderPaths;

/**
 * {@code inspect} of a compressed adapter: format version, codec settings, input fingerprint, one
 * line per layer (shape, kept components and the bits of each, bytes, effective bits, rel_error
 * from the manifest; for the budget mode, format version 2, also the level family and how many
 * components have each width), pass-through tensors and totals; with {@code --json} one document with a
 * top-level {@code layers} array (docs/FORMAT.md, "inspect"). The Python reader
 * ({@code python -m loraquant inspect}) prints the same bytes.
 */
final class CompressedInspection {
  private static final ObjectMapper JSON = new ObjectMapper();

  private CompressedInspection() {}

  /**
   * The folder of a compressed adapter at {@code path} (the folder or its model file), or null
   * when {@code path} is not one, so that a PEFT adapter is read as before.
   */
  static String folderOf(FileIO io, String path) throws IOException {
    String p = FolderPaths.withoutTrailingSlash(path);
    String modelSuffix = "/" + CompressedFormat.MODEL_FILE;
    if (p.endsWith(modelSuffix)) {
      return p.substring(0, p.length() - modelSuffix.length());
    }
    if (p.equals(CompressedFormat.MODEL_FILE)) {
      return ".";
    }
    List<String> names = io.list(p);
    return names.contains(CompressedFormat.MANIFEST_FILE) || names.contains(CompressedFormat.MODEL_FILE) ? p : null;
  }

  static void print(FileIO io, String folder, boolean json, PrintStream out) throws IOException {
    CompressedAdapterReader.Loaded loaded = CompressedAdapterReader.read(io, folder);
    CompressedAdapter adapter = loaded.adapter();
    JsonNode manifest = JSON.readTree(loaded.manifest());
    Map<String, Object> version = new LinkedHashMap<>();
    version.put("format", CompressedFormat.FORMAT_NAME);
    boolean budgetMode = adapter.formatVersion() == CompressedFormat.BUDGET_FORMAT_VERSION;
    version.put("format_version", adapter.formatVersion());
    Map<String, Object> settings = new LinkedHashMap<>();
    // Version 1 has only the paper's two tiers; version 2 is the budget mode's per-component widths.
    settings.put("mode", budgetMode ? CompressedFormat.MODE_BUDGET : "paper");
    for (CodecSetting setting : budgetMode ? BUDGET_SETTINGS : SETTINGS) {
      settings.put(setting.configKey(), adapter.codec().get(setting.configKey()));
    }
    settings.put(FINGERPRINT, adapter.codec().get(CompressedFormat.SETTINGS_FINGERPRINT_KEY));
    Map<String, Object> input = new LinkedHashMap<>();
    input.put("fingerprint", manifest.get("input_fingerprint"));
    Map<String, Double> relErrors = relErrors(manifest);
    List<InspectLine> layers = new ArrayList<>();
    long params = 0;
    long bytes = 0;
    long components = 0;
    long kept = 0;
    long[] widthHistogram = new long[WIDTHS];
    for (CompressedAdapter.Layer l : adapter.layers()) {
      List<Integer> widths = l.budget() != null ? widths(l.budget()) : widths(l.layer());
      long layerParams = (long) l.rank() * (l.m() + l.n());
      long layerBytes = l.budget() != null ? BudgetLayerLayout.storedBytes(l.module(), l.budget())
          : CompressedLayerLayout.storedBytes(l.module(), l.layer());
      params += layerParams;
      bytes += layerBytes;
      Map<String, Object> fields = new LinkedHashMap<>();
      fields.put("m", l.m());
      fields.put("n", l.n());
      fields.put("rank", l.rank());
      fields.put("k", widths.size());
      if (l.budget() != null) {
        long[] histogram = histogram(widths);
        long layerKept = widths.size() - histogram[0];
        components += widths.size();
        kept += layerKept;
        for (int w = 0; w < WIDTHS; w++) {
          widthHistogram[w] += histogram[w];
        }
        fields.put("kept", layerKept);
        fields.put("levels", l.budget().levels().label());
        fields.put("widths", widths);
        fields.put("width_histogram", histogram);
      } else {
        fields.put("h", l.layer().h());
        fields.put("widths", widths);
      }
      fields.put("params", layerParams);
      fields.put("bytes", layerBytes);
      fields.put("effective_bits", 8 * layerBytes);
      fields.put("bits_per_param", perParam(8 * layerBytes, layerParams));
      fields.put("rel_error", relErrors.get(l.module()));
      layers.add(new InspectLine("layer", "module", l.module(), fields));
    }
    List<InspectLine> passThrough = new ArrayList<>();
    long passThroughBytes = 0;
    for (NamedTensor t : adapter.passThrough()) {
      Map<String, Object> fields = new LinkedHashMap<>();
      fields.put("shape", t.shape());
      fields.put("dtype", t.dtype().name());
      fields.put("bytes", (long) t.data().length);
      passThroughBytes += t.data().length;
      passThrough.add(new InspectLine("pass_through", "tensor", t.name(), fields));
    }
    Map<String, Object> totals = new LinkedHashMap<>();
    totals.put("layers", layers.size());
    if (budgetMode) {
      totals.put("components", components);
      totals.put("kept", kept);
      totals.put("width_histogram", widthHistogram);
    }
    totals.put("params", params);
    totals.put("bytes", bytes);
    totals.put("effective_bits", 8 * bytes);
    totals.put("bits_per_param", perParam(8 * bytes, params));
    totals.put("pass_through_tensors", passThrough.size());
    totals.put("pass_through_bytes", passThroughBytes);
    totals.put("file_bytes", io.newInputFile(folder + "/" + CompressedFormat.MODEL_FILE).length());
    if (json) {
      ObjectNode doc = JSON.createObjectNode();
      version.forEach((name, value) -> doc.set(name, JSON.valueToTree(value)));
      doc.set("settings", new InspectLine("settings", null, null, settings).fieldsJson());
      doc.set("input_fingerprint", JSON.valueToTree(input.get("fingerprint")));
      ArrayNode layerNodes = doc.putArray("layers");
      layers.forEach(l -> layerNodes.add(l.fieldsJson()));
      ArrayNode passThroughNodes = doc.putArray("pass_through");
      passThrough.forEach(l -> passThroughNodes.add(l.fieldsJson()));
      doc.set("totals", new InspectLine("totals", null, null, totals).fieldsJson());
      out.println(JSON.writeValueAsString(doc));
      return;
    }
    List<InspectLine> lines = new ArrayList<>();
    lines.add(new InspectLine("compressed", null, null, version));
    lines.add(new InspectLine("settings", null, null, settings));
    lines.add(new InspectLine("input", null, null, input));
    lines.addAll(layers);
    lines.addAll(passThrough);
    lines.add(new InspectLine("totals", null, null, totals));
    for (InspectLine line : lines) {
      out.println(line.text());
    }
  }

  /**
   * The settings shown from a version 1 config block, in display order, each under its config
   * key ({@link CodecSetting#configKey}), then the settings fingerprint as {@link #FINGERPRINT}.
   * python/loraquant/inspection.py shows the same (InspectionKeysTest).
   */
  static final List<CodecSetting> SETTINGS = List.of(CodecSetting.RHO, CodecSetting.BITS_HIGH,
      CodecSetting.SPLIT, CodecSetting.REFINE, CodecSetting.GROUP_SIZE);

  /**
   * The same for version 2 (the budget mode). The fleet scope's weight is not shown: inspect's
   * lines are what they were before the fleet scope.
   */
  static final List<CodecSetting> BUDGET_SETTINGS = List.of(CodecSetting.BUDGET,
      CodecSetting.BUDGET_SCOPE, CodecSetting.LEVELS, CodecSetting.REFIT, CodecSetting.GROUP_SIZE);

  /** The name inspect gives the config block's settings fingerprint. */
  static final String FINGERPRINT = "fingerprint";

  /** Widths 0 (dropped) .. 8: the length of a width histogram. */
  private static final int WIDTHS = 9;

  /** Each module's rel_error from the manifest's layer statistics (null where it has none). */
  private static Map<String, Double> relErrors(JsonNode manifest) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (JsonNode layer : manifest.path("layers")) {
      JsonNode module = layer.get("module");
      if (module != null && module.isTextual()) {
        JsonNode e = layer.get("rel_error");
        out.put(module.textValue(), e != null && e.isNumber() ? e.doubleValue() : null);
      }
    }
    return out;
  }

  /** The bits of each kept component 0..k-1. */
  private static List<Integer> widths(CompressedLayer c) {
    Integer[] widths = new Integer[c.k()];
    Arrays.fill(widths, 0);
    for (QuantTier t : c.tiers()) {
      Arrays.fill(widths, t.first(), t.first() + t.count(), t.bits());
    }
    return Arrays.asList(widths);
  }

  /** The width of each component 0..k-1 of a budget-mode layer (0 = dropped). */
  private static List<Integer> widths(BudgetLayer b) {
    return Arrays.stream(b.widths()).boxed().toList();
  }

  /** How many components have each width 0..8. */
  private static long[] histogram(List<Integer> widths) {
    long[] histogram = new long[WIDTHS];
    for (int w : widths) {
      histogram[w]++;
    }
    return histogram;
  }

  private static double perParam(long bits, long params) {
    return params == 0 ? 0.0 : (double) bits / params;
  }
}
