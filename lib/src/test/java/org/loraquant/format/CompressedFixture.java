package org.loraquant.format;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import org.loraquant.codec.CodecSettings;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.CompressionManifest;
import org.loraquant.compress.CompressionResult;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.SafetensorsReader;
import org.loraquant.safetensors.SafetensorsWriter;
import org.loraquant.safetensors.TensorInfo;
import org.loraquant.testing.SyntheticAdapter;

/** A small compressed adapter on disk for tests that break it on purpose. */
final class CompressedFixture {
  static final String MODULE = "base_model.model.layers.0.self_attn.q_proj";
  /** rho 0.5: the first of four components carries most of the energy, so h = 1. */
  static final CodecSettings SETTINGS = CodecSettings.defaults().withGroupSize(8).withRho(0.5);

  private CompressedFixture() {}

  /** Compresses a 20 x 12 rank-4 layer plus a pass-through head into {@code dir}. */
  static CompressionResult write(Path workDir, Path dir) throws IOException {
    Path source = new SyntheticAdapter(7, 4)
        .linear(MODULE, 20, 12, 4, DType.F32, false)
        .passThrough("base_model.model.score.weight", DType.F32, 3, 12)
        .writeTo(workDir.resolve("source-" + dir.getFileName()));
    CompressionResult result = AdapterCompressor.compress(
        PeftAdapterReader.open(new LocalFileIO(), source.toString()), SETTINGS);
    CompressedAdapterWriter.write(new LocalFileIO(), dir.toString(), result.adapter(),
        CompressionManifest.of(result, null, Map.of()).toJson(SETTINGS));
    return result;
  }

  /**
   * Rewrites the model file of {@code dir} after {@code edit} changed its tensors (by name) and
   * its {@code __metadata__}.
   */
  static void editModel(Path dir, BiConsumer<Map<String, NamedTensor>, Map<String, String>> edit) throws IOException {
    Path model = dir.resolve(CompressedFormat.MODEL_FILE);
    SafetensorsReader reader = SafetensorsReader.open(new LocalFileIO().newInputFile(model.toString()));
    Map<String, NamedTensor> tensors = new LinkedHashMap<>();
    for (TensorInfo t : reader.header().tensors()) {
      tensors.put(t.name(), new NamedTensor(t.name(), t.dtype(), t.shape(), reader.readBytes(t)));
    }
    Map<String, String> metadata = new TreeMap<>(reader.header().metadata());
    edit.accept(tensors, metadata);
    SafetensorsWriter w = new SafetensorsWriter();
    metadata.forEach(w::metadata);
    tensors.values().forEach(t -> w.add(t.name(), t.dtype(), t.shape(), t.data()));
    Files.write(model, w.toByteArray());
  }
}
