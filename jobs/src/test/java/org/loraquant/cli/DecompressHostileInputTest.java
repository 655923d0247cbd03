package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.io.LocalFileIO;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.SafetensorsReader;
import org.loraquant.safetensors.SafetensorsWriter;
import org.loraquant.safetensors.TensorInfo;
import org.loraquant.testing.SyntheticAdapter;

/**
 * {@code decompress} of hostile compressed folders through {@link Main#run}: exit 1, one line on
 * stderr naming the file, the tensor and the problem, and no output folder.
 */
class DecompressHostileInputTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MODULE = "base_model.model.model.layers.0.self_attn.q_proj";

  /** A tensor's dtype, shape and bytes. */
  private record Tensor(DType dtype, long[] shape, byte[] data) {}

  private record Run(int exitCode, List<String> out, List<String> err) {}

  @TempDir Path tmp;
  private Path compressed;
  private Path model;
  private Path out;

  @BeforeEach
  void compress() throws IOException {
    Path source = new SyntheticAdapter(5, 8)
        .linear(MODULE, 40, 24, 8, DType.F32, false)
        .writeTo(tmp.resolve("source"));
    compressed = tmp.resolve("compressed");
    model = compressed.resolve("loraquant_model.safetensors");
    out = tmp.resolve("restored");
    assertThat(run("compress", source, compressed).exitCode()).isZero();
  }

  private static Run run(Object... args) {
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    int code = Main.run(java.util.Arrays.stream(args).map(Object::toString).toList(),
        new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8));
    return new Run(code, stdout.toString(StandardCharsets.UTF_8).lines().toList(),
        stderr.toString(StandardCharsets.UTF_8).lines().toList());
  }

  private void assertRefused(String line) {
    Run run = run("decompress", compressed, out);
    assertThat(run.err()).containsExactly("loraquant decompress: " + line);
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.out()).isEmpty();
    assertThat(out).doesNotExist();
  }

  @Test
  void rankWithoutStoredComponents() throws IOException {
    // The case: rank 20000, no tier tensors; it used to end in OutOfMemoryError.
    editModel((tensors, meta) -> {
      tensors.keySet().removeIf(name -> name.startsWith(MODULE + ".lq.t"));
      tensors.put(MODULE + ".lq.meta", ints(40, 24, 20_000, 0, 0, 0));
      meta.put("loraquant.modules", meta.get("loraquant.modules")
          .replace("\"shape_A\":[8,24]", "\"shape_A\":[20000,24]").replace("\"shape_B\":[40,8]", "\"shape_B\":[40,20000]"));
    });
    assertRefused(model + ": tensor '" + MODULE + ".lq.meta': inconsistent layer meta [40, 24, 20000, 0, 0, 0]:"
        + " k=0 but a 40 x 24 layer of rank 20000 has k = min(m, n, rank) = 24 components");
  }

  @Test
  void factorLargerThanAnArray() throws IOException {
    // rank x n = 2^32: the product used to overflow int.
    editModel((tensors, meta) -> {
      tensors.keySet().removeIf(name -> name.startsWith(MODULE + ".lq.t"));
      tensors.put(MODULE + ".lq.meta", ints(0, 65536, 65536, 0, 0, 0));
      meta.put("loraquant.modules", meta.get("loraquant.modules")
          .replace("\"shape_A\":[8,24]", "\"shape_A\":[65536,65536]").replace("\"shape_B\":[40,8]", "\"shape_B\":[0,65536]"));
    });
    assertRefused(model + ": tensor '" + MODULE + ".lq.meta': a 0 x 65536 layer of rank 65536 decodes to factors of"
        + " 0 and 4294967296 values; one factor may hold at most 2147483639");
  }

  @Test
  void nanScale() throws IOException {
    String name = MODULE + ".lq.t0.b.scales";
    editModel((tensors, meta) -> {
      Tensor t = tensors.get(name);
      byte[] data = t.data().clone();
      ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putShort(0, (short) 0x7e00);
      tensors.put(name, new Tensor(t.dtype(), t.shape(), data));
    });
    assertRefused(model + ": tensor '" + name + "': scale 0 is NaN (binary16 bits 0x7e00); scales must be finite");
  }

  @Test
  void formatVersionThatWrapsToOne() throws IOException {
    Path config = compressed.resolve("adapter_config.json");
    ObjectNode root = (ObjectNode) JSON.readTree(config.toFile());
    ((ObjectNode) root.get("loraquant")).put("format_version", BigInteger.TWO.pow(64).add(BigInteger.ONE));
    Files.write(config, JSON.writeValueAsBytes(root));
    assertRefused(config + " \"loraquant\": unsupported format version 18446744073709551617; this version of"
        + " loraquant reads versions 1 and 2 (a newer loraquant wrote it?)");
  }

  private static Tensor ints(int... values) {
    ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : values) {
      bb.putInt(v);
    }
    return new Tensor(DType.I32, new long[] {values.length}, bb.array());
  }

  private void editModel(BiConsumer<Map<String, Tensor>, Map<String, String>> edit) throws IOException {
    SafetensorsReader reader = SafetensorsReader.open(new LocalFileIO().newInputFile(model.toString()));
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (TensorInfo t : reader.header().tensors()) {
      tensors.put(t.name(), new Tensor(t.dtype(), t.shape(), reader.readBytes(t)));
    }
    Map<String, String> metadata = new TreeMap<>(reader.header().metadata());
    edit.accept(tensors, metadata);
    SafetensorsWriter w = new SafetensorsWriter();
    metadata.forEach(w::metadata);
    tensors.forEach((name, t) -> w.add(name, t.dtype(), t.shape(), t.data()));
    Files.write(model, w.toByteArray());
  }
}
