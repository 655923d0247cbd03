package org.loraquant.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.LoraFactors;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.format.CompressedAdapterWriter;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.FileIO;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.TensorInfo;
import org.loraquant.testing.SharedAdapters;
import org.loraquant.testing.UpdateError;

/**
 * Every real LoRA adapter in shared/: compress, write, read, decompress, and check the result
 * against the source with arithmetic of the test's own.
 */
class RealAdapterRoundTripTest {
  private static final FileIO IO = new LocalFileIO();
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @TestFactory
  Stream<DynamicTest> everyRealLoraAdapterRoundTrips() throws IOException {
    Path root = SharedAdapters.folder();
    List<Path> adapters;
    try (Stream<Path> dirs = Files.list(root)) {
      adapters = dirs.filter(d -> Files.isRegularFile(d.resolve("adapter_model.safetensors")))
          .filter(d -> !d.getFileName().toString().startsWith("NEGATIVE-"))
          .sorted()
          .toList();
    }
    assertThat(adapters).hasSizeGreaterThanOrEqualTo(23);
    return adapters.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> roundTrip(dir)));
  }

  private void roundTrip(Path source) throws IOException {
    String name = source.getFileName().toString();
    CodecSettings settings = CodecSettings.defaults();
    PeftAdapter adapter = PeftAdapterReader.open(IO, source.toString());
    CompressionResult result = AdapterCompressor.compress(adapter, settings);
    Path compressed = tmp.resolve(name + "-compressed");
    CompressedAdapterWriter.write(IO, compressed.toString(), result.adapter(),
        CompressionManifest.of(result, null, Map.of()).toJson(settings));

    checkDeterministic(source, settings, compressed);
    checkFileSizeMatchesEffectiveBits(adapter, result, compressed.resolve(CompressedFormat.MODEL_FILE));

    CompressedAdapterReader.Loaded loaded = CompressedAdapterReader.read(IO, compressed.toString());
    CompressionManifest manifest = CompressionManifest.parse("manifest", loaded.manifest());
    assertThat(manifest.layers()).extracting(LayerReport::module)
        .containsExactlyElementsOf(adapter.modules().stream().map(LoraModule::module).toList());

    for (OutputDType dtype : OutputDType.values()) {
      Path out = tmp.resolve(name + "-" + dtype);
      AdapterDecompressor.write(IO, out.toString(), loaded.adapter(), dtype);
      PeftAdapter decompressed = PeftAdapterReader.open(IO, out.toString());
      checkSameTensorsAndConfig(adapter, decompressed, dtype);
      if (dtype == OutputDType.F32) {
        checkErrorsMatchReports(adapter, decompressed, manifest.layers(), 1e-6);
      } else if (dtype == OutputDType.SAME) {
        // Decoded values (q - z) * s need more significand bits than F16 / BF16 hold, so writing
        // them back in a 16-bit source dtype rounds them: the error moves, but only a little.
        checkErrorsMatchReports(adapter, decompressed, manifest.layers(),
            adapter.modules().get(0).a().dtype() == DType.F32 ? 1e-6 : 1e-3);
      }
    }
  }

  private static void checkDeterministic(Path source, CodecSettings settings, Path compressed) throws IOException {
    CompressionResult again = AdapterCompressor.compress(PeftAdapterReader.open(IO, source.toString()), settings);
    assertThat(CompressedAdapterWriter.modelBytes(again.adapter()))
        .isEqualTo(Files.readAllBytes(compressed.resolve(CompressedFormat.MODEL_FILE)));
    assertThat(CompressedAdapterWriter.configBytes(again.adapter()))
        .isEqualTo(Files.readAllBytes(compressed.resolve(CompressedFormat.CONFIG_FILE)));
  }

  /** 8 + header + every layer's effective_bits / 8 + pass-through bytes is the file, exactly. */
  private static void checkFileSizeMatchesEffectiveBits(PeftAdapter adapter, CompressionResult result, Path model)
      throws IOException {
    byte[] bytes = Files.readAllBytes(model);
    long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    long layerBits = 0;
    for (LayerReport layer : result.layers()) {
      assertThat(layer.stats().effectiveBits() % 8).isZero();
      assertThat(layer.bytesOut() * 8).isEqualTo(layer.stats().effectiveBits());
      layerBits += layer.stats().effectiveBits();
    }
    long passThroughBytes = adapter.passThrough().stream().mapToLong(TensorInfo::byteLength).sum();
    assertThat(8 + headerLength + layerBits / 8 + passThroughBytes).isEqualTo(bytes.length);
  }

  private static void checkSameTensorsAndConfig(PeftAdapter source, PeftAdapter out, OutputDType dtype)
      throws IOException {
    Map<String, TensorInfo> in = byName(source);
    Map<String, TensorInfo> back = byName(out);
    assertThat(back.keySet()).containsExactlyInAnyOrderElementsOf(in.keySet());
    for (TensorInfo t : in.values()) {
      TensorInfo d = back.get(t.name());
      assertThat(d.shape()).as(t.name()).containsExactly(t.shape());
    }
    for (LoraModule m : source.modules()) {
      for (TensorInfo t : List.of(m.a(), m.b())) {
        assertThat(back.get(t.name()).dtype()).as(t.name()).isEqualTo(dtype.resolve(t.dtype()));
      }
    }
    for (TensorInfo t : source.passThrough()) {
      TensorInfo d = back.get(t.name());
      assertThat(d.dtype()).isEqualTo(t.dtype());
      assertThat(PeftAdapterReader.readTensorBytes(out, d)).as(t.name())
          .isEqualTo(PeftAdapterReader.readTensorBytes(source, t));
    }
    assertThat(out.header().metadata()).isEqualTo(source.header().metadata());
    assertThat(JSON.readTree(Path.of(out.location(), "adapter_config.json").toFile()))
        .isEqualTo(JSON.readTree(Path.of(source.location(), "adapter_config.json").toFile()));
  }

  private static void checkErrorsMatchReports(PeftAdapter source, PeftAdapter out, List<LayerReport> reports,
      double relativeTolerance) {
    Map<String, LayerReport> byModule = reports.stream().collect(Collectors.toMap(LayerReport::module, Function.identity()));
    for (LoraModule m : source.modules()) {
      LoraFactors exact = PeftAdapterReader.readFactors(source, m);
      LoraFactors approx = PeftAdapterReader.readFactors(out, out.module(m.module()));
      UpdateError e = UpdateError.of(exact, approx);
      double reported = byModule.get(m.module()).stats().relError();
      if (e.norm() == 0) {
        assertThat(byModule.get(m.module()).stats().zeroUpdate()).as(m.module()).isTrue();
        assertThat(reported).as(m.module()).isZero();
        assertThat(e.approxNorm()).as(m.module() + ": a zero update decodes to zero").isZero();
      } else {
        assertThat(e.relative()).as(m.module()).isCloseTo(reported, within(relativeTolerance * reported + 1e-9));
      }
    }
  }

  private static Map<String, TensorInfo> byName(PeftAdapter a) {
    return a.header().tensors().stream().collect(Collectors.toMap(TensorInfo::name, Function.identity()));
  }
}
