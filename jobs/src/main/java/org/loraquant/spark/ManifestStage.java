package org.loraquant.spark;

import java.util.List;
import org.loraquant.compress.CompressionManifest;
import org.loraquant.compress.LayerReport;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.format.CompressedFormat;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.plan.ExistingOutput;

/**
 * Reads the manifests (stats sidecars) of existing outputs on executors: a summary for the skip
 * decision and the skipped rows, and, for the few outputs whose stats a killed run never wrote, the
 * full layer reports.
 */
final class ManifestStage {
  private ManifestStage() {}

  /** The manifest's summary; an unparsable manifest is reported, not thrown (it is rewritten). */
  static OutputState summary(HadoopFileIO io, ExistingOutput output) {
    try {
      return OutputState.of(output, parse(io, output));
    } catch (RuntimeException e) {
      AdapterErrors.classify(e);
      return OutputState.unreadable(output, AdapterErrors.message(e));
    }
  }

  static List<LayerReport> layers(HadoopFileIO io, ExistingOutput output) {
    return parse(io, output).layers();
  }

  private static CompressionManifest parse(HadoopFileIO io, ExistingOutput output) {
    byte[] json = CompressedAdapterReader.readManifest(io, output.location());
    return CompressionManifest.parse(
        output.location() + "/" + CompressedFormat.MANIFEST_FILE, json);
  }
}
