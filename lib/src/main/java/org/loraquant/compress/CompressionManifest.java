package org.loraquant.compress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.loraquant.codec.CodecSettings;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.format.CompressedFormat;
import org.loraquant.format.JsonOutput;

/**
 * The manifest written last into a compressed adapter folder: marks it complete, says which
 * input and settings it was made from (so the nightly job can skip unchanged adapters), and
 * carries the per-layer statistics (so stats lost to a crash can be rebuilt from the output).
 *
 * @param settingsFingerprint {@link CodecSettings#fingerprint()}
 * @param inputFingerprint the input's fingerprint, or null when the writer had none (CLI)
 * @param run who wrote it: run_id, run_date and the like (may be empty)
 * @param layers one report per layer, in module order
 */
public record CompressionManifest(
    String settingsFingerprint, String inputFingerprint, Map<String, String> run, List<LayerReport> layers) {

  private static final ObjectMapper JSON = JsonOutput.indented();

  public CompressionManifest {
    run = Map.copyOf(run);
    layers = List.copyOf(layers);
  }

  public static CompressionManifest of(CompressionResult result, String inputFingerprint, Map<String, String> run) {
    return new CompressionManifest(result.settings().fingerprint(), inputFingerprint, run, result.layers());
  }

  public byte[] toJson(CodecSettings settings) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode layerNodes =
        header(root, CompressedFormat.FORMAT_VERSION, settingsFingerprint, inputFingerprint, run);
    for (LayerReport layer : layers) {
      layerNodes.add(LayerReportJson.toJson(layer, settings));
    }
    return JSON.writeValueAsBytes(root);
  }
  /**
   * The fields every manifest version starts with, in this key order: format, format_version,
   * settings_fingerprint, input_fingerprint (null when unknown), run (keys sorted). Returns the
   * empty {@code layers} array that follows them, for the caller's layer lines.
   */
  static ArrayNode header(
      ObjectNode root,
      int formatVersion,
      String settingsFingerprint,
      String inputFingerprint,
      java.util.Map<String, String> run) {
    root.put("format", CompressedFormat.FORMAT_NAME);
    root.put("format_version", formatVersion);
    root.put("settings_fingerprint", settingsFingerprint);
    if (inputFingerprint == null) {
      root.putNull("input_fingerprint");
    } else {
      root.put("input_fingerprint", inputFingerprint);
    }
    ObjectNode runNode = root.putObject("run");
    new java.util.TreeMap<>(run).forEach(runNode::put);
    return root.putArray("layers");
  }


  /** Parses a manifest; {@code file} is named in errors. */
  public static CompressionManifest parse(String file, byte[] json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new InvalidAdapterException(file, null, "malformed manifest JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new InvalidAdapterException(file, null, "manifest is not a JSON object");
    }
    if (!CompressedFormat.FORMAT_NAME.equals(root.path("format").asText())) {
      throw new InvalidAdapterException(file, null, "manifest format is '" + root.path("format").asText()
          + "', expected '" + CompressedFormat.FORMAT_NAME + "'");
    }
    JsonNode version = root.path("format_version");
    // As a big integer: 2^64 + 1 must not wrap to 1.
    if (!version.isIntegralNumber()
        || !version.bigIntegerValue().equals(java.math.BigInteger.valueOf(CompressedFormat.FORMAT_VERSION))) {
      throw new InvalidAdapterException(file, null, "unsupported format_version " + root.path("format_version")
          + "; this version of loraquant reads version " + CompressedFormat.FORMAT_VERSION);
    }
    Map<String, String> run = new java.util.TreeMap<>();
    root.path("run").fields().forEachRemaining(e -> run.put(e.getKey(), e.getValue().asText()));
    List<LayerReport> layers = new ArrayList<>();
    for (JsonNode layer : root.path("layers")) {
      layers.add(LayerReportJson.fromJson(layer));
    }
    JsonNode input = root.path("input_fingerprint");
    return new CompressionManifest(root.path("settings_fingerprint").asText(),
        input.isNull() || input.isMissingNode() ? null : input.asText(), run, layers);
  }
}
