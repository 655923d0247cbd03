package org.loraquant.spark.stage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.FleetWeight;
import org.loraquant.codec.LevelFamily;
import org.loraquant.codec.Refinement;
import org.loraquant.codec.SplitRule;
import org.loraquant.compress.CompressionManifest;
import org.loraquant.compress.LayerReport;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.format.CompressedFormat;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.plan.ExistingOutput;
import org.loraquant.stats.LayerFigures;

/**
 * Reads the manifests (stats sidecars) of existing outputs on executors: a summary for the skip
 * decision and the skipped rows, and, for the few outputs whose stats a killed run never wrote, the
 * full layer figures. Both format versions: the paper mode's (1) and the budget mode's (2), whose
 * layer lines carry their own settings.
 */
public final class ManifestStage {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ManifestStage() {}

  /**
   * A parsed manifest of either format version.
   *
   * @param run who wrote it: run_id, run_date, finished_at; empty when no job run did
   * @param layers each layer's figures, with the settings its own line gives
   */
  record Parsed(
      String settingsFingerprint,
      String inputFingerprint,
      Map<String, String> run,
      List<LayerFigures> layers) {}

  /** The manifest's summary; an unparsable manifest is reported, not thrown (it is rewritten). */
  public static OutputState summary(HadoopFileIO io, ExistingOutput output) {
    try {
      return OutputState.of(output, parse(io, output));
    } catch (RuntimeException e) {
      AdapterErrors.classify(e);
      return OutputState.unreadable(output, AdapterErrors.message(e));
    }
  }

  public static List<LayerFigures> layers(HadoopFileIO io, ExistingOutput output) {
    return parse(io, output).layers();
  }

  private static Parsed parse(HadoopFileIO io, ExistingOutput output) {
    String file = output.location() + "/" + CompressedFormat.MANIFEST_FILE;
    return parse(file, CompressedAdapterReader.readManifest(io, output.location()));
  }

  /** Parses a manifest of either version; {@code file} is named in errors. */
  static Parsed parse(String file, byte[] json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new InvalidAdapterException(file, null, "malformed manifest JSON: " + e.getMessage());
    }
    JsonNode version = root == null ? null : root.path("format_version");
    boolean budget =
        version != null
            && version.isIntegralNumber()
            && version.bigIntegerValue()
                .equals(java.math.BigInteger.valueOf(CompressedFormat.BUDGET_FORMAT_VERSION))
            && CompressedFormat.FORMAT_NAME.equals(root.path("format").asText());
    if (!budget) {
      // Version 1, or something that is neither: the paper mode's parser says which.
      CompressionManifest manifest = CompressionManifest.parse(file, json);
      List<LayerFigures> layers = new ArrayList<>();
      JsonNode lines = root.path("layers");
      for (int i = 0; i < manifest.layers().size(); i++) {
        LayerReport report = manifest.layers().get(i);
        layers.add(LayerFigures.paper(report, paperSettings(file, lines.get(i))));
      }
      return new Parsed(
          manifest.settingsFingerprint(), manifest.inputFingerprint(), manifest.run(), layers);
    }
    Map<String, String> run = new TreeMap<>();
    root.path("run").fields().forEachRemaining(e -> run.put(e.getKey(), e.getValue().asText()));
    List<LayerFigures> layers = new ArrayList<>();
    for (JsonNode line : root.path("layers")) {
      layers.add(LayerFigures.budget(line, budgetSettings(file, line)));
    }
    JsonNode input = root.path("input_fingerprint");
    return new Parsed(
        root.path("settings_fingerprint").asText(),
        input.isNull() || input.isMissingNode() ? null : input.asText(),
        run,
        layers);
  }

  /** The paper-mode settings a version 1 layer line was written with. */
  private static CodecSettings paperSettings(String file, JsonNode line) {
    try {
      return new CodecSettings(
          line.path(CodecSetting.RHO.jsonKey()).asDouble(),
          SplitRule.valueOf(line.path(CodecSetting.SPLIT.jsonKey()).asText().toUpperCase(Locale.ROOT)),
          line.path(CodecSetting.BITS_HIGH.jsonKey()).asInt(),
          line.path(CodecSetting.GROUP_SIZE.jsonKey()).asInt(),
          Refinement.valueOf(line.path(CodecSetting.REFINE.jsonKey()).asText().toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      throw new InvalidAdapterException(file, null, "layer line with bad settings: " + e.getMessage());
    }
  }

  /** The budget-mode settings a version 2 layer line was written with. */
  private static BudgetSettings budgetSettings(String file, JsonNode line) {
    try {
      String levels = line.path(CodecSetting.LEVELS.jsonKey()).asText();
      return new BudgetSettings(
          line.path(CodecSetting.BUDGET.jsonKey()).asDouble(),
          BudgetScope.valueOf(line.path(CodecSetting.BUDGET_SCOPE.jsonKey()).asText().toUpperCase(Locale.ROOT)),
          LevelFamily.valueOf(levels.toUpperCase(Locale.ROOT).replace('-', '_')),
          line.path(CodecSetting.REFIT.jsonKey()).asInt(),
          line.path(CodecSetting.GROUP_SIZE.jsonKey()).asInt(),
          line.hasNonNull(CodecSetting.BUDGET_WEIGHT.jsonKey())
              ? FleetWeight.valueOf(
                  line.path(CodecSetting.BUDGET_WEIGHT.jsonKey()).asText().toUpperCase(Locale.ROOT))
              : BudgetSettings.DEFAULT_WEIGHT);
    } catch (IllegalArgumentException e) {
      throw new InvalidAdapterException(file, null, "layer line with bad settings: " + e.getMessage());
    }
  }
}
