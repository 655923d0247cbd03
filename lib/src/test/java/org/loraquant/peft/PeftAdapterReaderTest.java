package org.loraquant.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.LoraFactors;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.LocalFileIO;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.SafetensorsWriter;
import org.loraquant.safetensors.TensorInfo;
import org.loraquant.testing.ByteRange;
import org.loraquant.testing.RecordingFileIO;

class PeftAdapterReaderTest {
  private static final String LORA_CONFIG =
      "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q\", \"v\"]}";
  private static final String P = "base_model.model.";

  @TempDir Path tmp;
  private Path dir;
  private String config;
  private String weights;

  @BeforeEach
  void paths() {
    dir = tmp.resolve("adapter");
    config = dir + "/adapter_config.json";
    weights = dir + "/adapter_model.safetensors";
  }

  private static float[] iota(int count, float start) {
    float[] v = new float[count];
    for (int i = 0; i < count; i++) {
      v[i] = start + i;
    }
    return v;
  }

  /** Little-endian F16 bytes of small integers (exact in half precision). */
  private static byte[] f16(float[] values) {
    ByteBuffer bb = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      int bits = Float.floatToIntBits(v);
      int sign = (bits >>> 16) & 0x8000;
      int exponent = ((bits >>> 23) & 0xFF) - 127 + 15;
      int mantissa = (bits >>> 13) & 0x3FF;
      bb.putShort((short) (v == 0 ? sign : sign | (exponent << 10) | mantissa));
    }
    return bb.array();
  }

  private void write(String configJson, SafetensorsWriter tensors) throws IOException {
    Files.createDirectories(dir);
    if (configJson != null) {
      Files.writeString(dir.resolve("adapter_config.json"), configJson);
    }
    if (tensors != null) {
      Files.write(dir.resolve("adapter_model.safetensors"), tensors.toByteArray());
    }
  }

  private PeftAdapter open() {
    return PeftAdapterReader.open(new LocalFileIO(), dir.toString());
  }

  private static SafetensorsWriter onePair(long[] aShape, long[] bShape) {
    int a = (int) Arrays.stream(aShape).reduce(1, (x, y) -> x * y);
    int b = (int) Arrays.stream(bShape).reduce(1, (x, y) -> x * y);
    return new SafetensorsWriter()
        .addF32(P + "q.lora_A.weight", aShape, iota(a, 1))
        .addF32(P + "q.lora_B.weight", bShape, iota(b, 1));
  }

  /**
   * Every layout PEFT uses: linear, F16, conv, embedding, adapter-named keys, pass-through heads.
   */
  private static SafetensorsWriter everyLayout() {
    return new SafetensorsWriter()
        .metadata("format", "pt")
        .addF32(P + "layers.0.q.lora_A.weight", new long[] {2, 3}, iota(6, 1))
        .addF32(P + "layers.0.q.lora_B.weight", new long[] {4, 2}, iota(8, -4))
        .add(P + "layers.0.v.lora_A.weight", DType.F16, new long[] {2, 3}, f16(iota(6, 10)))
        .add(P + "layers.0.v.lora_B.weight", DType.F16, new long[] {5, 2}, f16(iota(10, -5)))
        .addF32(P + "conv.lora_A.weight", new long[] {2, 3, 2, 2}, iota(24, 0))
        .addF32(P + "conv.lora_B.weight", new long[] {4, 2, 1, 1}, iota(8, 0))
        .addF32(P + "embed.lora_embedding_A", new long[] {2, 10}, iota(20, 0))
        .addF32(P + "embed.lora_embedding_B", new long[] {6, 2}, iota(12, 0))
        .addF32(P + "layers.1.q.lora_A.default.weight", new long[] {3, 3}, iota(9, 0))
        .addF32(P + "layers.1.q.lora_B.default.weight", new long[] {3, 3}, iota(9, 0))
        .addF32(P + "classifier.weight", new long[] {2, 3}, iota(6, 0.5f))
        .addF32(P + "classifier.bias", new long[] {2}, new float[] {-1, 1})
        .addF32(P + "layers.0.q.lora_magnitude_vector", new long[] {4}, iota(4, 1));
  }

  @Test
  void readsEveryLayoutIntoModulesAndPassThrough() throws IOException {
    write(LORA_CONFIG, everyLayout());
    PeftAdapter adapter = open();

    assertThat(adapter.location()).isEqualTo(dir.toString());
    assertThat(adapter.config().r()).hasValue(2);
    assertThat(adapter.modules())
        .extracting(
            m -> m.module() + " " + m.m() + "x" + m.n() + " r" + m.rank() + " " + m.dtypeName())
        .containsExactly(
            P + "conv 4x12 r2 F32",
            P + "embed 6x10 r2 F32",
            P + "layers.0.q 4x3 r2 F32",
            P + "layers.0.v 5x3 r2 F16",
            P + "layers.1.q 3x3 r3 F32");
    assertThat(adapter.passThrough())
        .extracting(TensorInfo::name)
        .containsExactly(
            P + "classifier.bias", P + "classifier.weight", P + "layers.0.q.lora_magnitude_vector");
    long lora = 2 * (4 + 12) + 2 * (6 + 10) + 2 * (4 + 3) + 2 * (5 + 3) + 3 * (3 + 3);
    assertThat(adapter.loraParams()).isEqualTo(lora);
    assertThat(adapter.passThroughParams()).isEqualTo(6 + 2 + 4);
    assertThat(adapter.totalParams()).isEqualTo(lora + 12);
    assertThat(adapter.module(P + "layers.0.v").a().dtype()).isEqualTo(DType.F16);
    assertThat(adapter.fileBytes()).isEqualTo(Files.size(Path.of(weights)));
  }

  @Test
  void readFactorsDecodesRowMajorAndReadsOnlyTheTwoTensors() throws IOException {
    write(LORA_CONFIG, everyLayout());
    RecordingFileIO io = new RecordingFileIO();
    PeftAdapter adapter = PeftAdapterReader.open(io, dir.toString());
    io.clearReads();

    LoraModule v = adapter.module(P + "layers.0.v");
    LoraFactors factors = PeftAdapterReader.readFactors(adapter, v);
    assertThat(factors.m()).isEqualTo(5);
    assertThat(factors.n()).isEqualTo(3);
    assertThat(factors.r()).isEqualTo(2);
    assertThat(factors.b()).containsExactly(iota(10, -5));
    assertThat(factors.a()).containsExactly(iota(6, 10));
    assertThat(io.reads())
        .containsExactlyInAnyOrder(
            new ByteRange(weights, v.b().absoluteBegin(), 20),
            new ByteRange(weights, v.a().absoluteBegin(), 12));

    LoraFactors conv = PeftAdapterReader.readFactors(adapter, adapter.module(P + "conv"));
    assertThat(conv.a()).containsExactly(iota(24, 0));
    assertThat(conv.b()).containsExactly(iota(8, 0));
  }

  @Test
  void openingFromAListingReadsTheConfigAndTheHeaderOnceEach() throws IOException {
    write(LORA_CONFIG, everyLayout());
    RecordingFileIO io = new RecordingFileIO();
    long configLength = Files.size(Path.of(config));
    long weightsLength = Files.size(Path.of(weights));

    PeftAdapter adapter =
        PeftAdapterReader.open(
            io,
            dir.toString(),
            java.util.Map.of(
                "adapter_config.json", configLength, "adapter_model.safetensors", weightsLength));

    // The length prefix and the whole header come with the first read (the file is smaller than
    // the speculative read, so that is the whole file): one read per file.
    assertThat(io.reads())
        .containsExactly(
            new ByteRange(config, 0, (int) configLength),
            new ByteRange(weights, 0, (int) weightsLength));
    assertThat(adapter.opened().weightsLength()).isEqualTo(weightsLength);
  }

  /**
   * Opened through files given by name (the job's small adapters: views of their whole files read
   * ahead), the adapter reads through them only: one whole read of each file, then the header and
   * every tensor from those bytes.
   */
  @Test
  void openingThroughGivenFilesReadsOnlyThroughThem() throws IOException {
    write(LORA_CONFIG, everyLayout());
    long configLength = Files.size(Path.of(config));
    long weightsLength = Files.size(Path.of(weights));
    java.util.Map<String, Long> listed =
        java.util.Map.of(
            "adapter_config.json", configLength, "adapter_model.safetensors", weightsLength);
    RecordingFileIO unused = new RecordingFileIO();
    RecordingFileIO storage = new RecordingFileIO();

    PeftAdapter adapter =
        PeftAdapterReader.open(
            unused,
            dir.toString(),
            listed,
            name ->
                new org.loraquant.io.ChunkedInputFile(
                    storage.newInputFile(dir + "/" + name, listed.get(name)),
                    java.util.List.of(new org.loraquant.io.ByteSpan(0, listed.get(name)))));
    for (LoraModule module : adapter.modules()) {
      PeftAdapterReader.readFactors(adapter, module);
    }
    for (TensorInfo t : adapter.passThrough()) {
      PeftAdapterReader.readTensorBytes(adapter, t);
    }

    assertThat(unused.reads()).isEmpty();
    assertThat(storage.reads())
        .containsExactly(
            new ByteRange(config, 0, (int) configLength),
            new ByteRange(weights, 0, (int) weightsLength));
    assertThat(adapter.opened())
        .isEqualTo(PeftAdapterReader.open(new LocalFileIO(), dir.toString()).opened());
  }

  @Test
  void aReopenedAdapterEqualsTheOpenedOneAndReadsNothingUntilAskedForTensors() throws IOException {
    write(LORA_CONFIG, everyLayout());
    RecordingFileIO io = new RecordingFileIO();
    PeftAdapter opened = PeftAdapterReader.open(io, dir.toString());
    OpenedAdapter travelled = roundTrip(opened.opened());
    io.clearReads();

    PeftAdapter again = PeftAdapterReader.reopen(travelled, travelled.weightsFile(io));

    assertThat(io.reads()).isEmpty();
    assertThat(again.location()).isEqualTo(opened.location());
    assertThat(again.modules()).isEqualTo(opened.modules());
    assertThat(again.passThrough()).isEqualTo(opened.passThrough());
    assertThat(again.config().tree()).isEqualTo(opened.config().tree());
    assertThat(again.header().metadata()).isEqualTo(opened.header().metadata());
    LoraModule v = again.module(P + "layers.0.v");
    assertThat(PeftAdapterReader.readFactors(again, v).a()).containsExactly(iota(6, 10));
  }

  private static OpenedAdapter roundTrip(OpenedAdapter opened) throws IOException {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
      out.writeObject(opened);
    }
    try (java.io.ObjectInputStream in =
        new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
      return (OpenedAdapter) in.readObject();
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void passThroughBytesAreVerbatim() throws IOException {
    write(LORA_CONFIG, everyLayout());
    PeftAdapter adapter = open();
    TensorInfo bias = adapter.header().tensor(P + "classifier.bias");
    byte[] expected =
        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(-1).putFloat(1).array();
    assertThat(PeftAdapterReader.readTensorBytes(adapter, bias)).containsExactly(expected);
  }

  @Test
  void tensorsOfAnotherAdapterAreRejected() throws IOException {
    write(LORA_CONFIG, everyLayout());
    PeftAdapter adapter = open();
    TensorInfo stranger = new TensorInfo(P + "classifier.bias", DType.F32, new long[] {2}, 0, 8, 0);
    assertThatThrownBy(() -> PeftAdapterReader.readTensorBytes(adapter, stranger))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tensor '" + P + "classifier.bias' is not part of the adapter at " + dir);
  }

  @Test
  void trailingSlashInTheFolderIsIgnored() throws IOException {
    write(LORA_CONFIG, onePair(new long[] {2, 3}, new long[] {4, 2}));
    assertThat(PeftAdapterReader.open(new LocalFileIO(), dir + "/").location())
        .isEqualTo(dir.toString());
  }

  @Test
  void nonLoraPeftTypeIsRefused() throws IOException {
    write(
        "{\"peft_type\": \"P_TUNING\", \"num_virtual_tokens\": 10}",
        onePair(new long[] {2, 3}, new long[] {4, 2}));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(config + ": peft_type is P_TUNING, but only LORA adapters are supported");
  }

  @Test
  void missingPeftTypeIsRefused() throws IOException {
    write("{\"r\": 8}", onePair(new long[] {2, 3}, new long[] {4, 2}));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(config + ": peft_type is missing, but only LORA adapters are supported");
  }

  @Test
  void pickleWeightsAreNeverLoaded() throws IOException {
    write(LORA_CONFIG, null);
    Files.write(dir.resolve("adapter_model.bin"), new byte[] {(byte) 0x80, 0x02});
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            dir
                + "/adapter_model.bin: pickle weights are never loaded (unpickling can run code);"
                + " convert the adapter to adapter_model.safetensors, e.g. with"
                + " safetensors.torch.save_file or PEFT's"
                + " save_pretrained(safe_serialization=True)");
  }

  @Test
  void configWithoutWeightsIsIncomplete() throws IOException {
    write(LORA_CONFIG, null);
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(IncompleteAdapterException.class)
        .hasMessage(weights + ": missing, but adapter_config.json is there (upload in progress?)");
  }

  @Test
  void weightsWithoutConfigIsIncomplete() throws IOException {
    write(null, onePair(new long[] {2, 3}, new long[] {4, 2}));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(IncompleteAdapterException.class)
        .hasMessage(
            config + ": missing, but adapter_model.safetensors is there (upload in progress?)");
  }

  @Test
  void missingOrUnrelatedFolderIsRefused() throws IOException {
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(dir + ": no such adapter folder, or it is empty");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("README.md"), "hello");
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(dir + ": not a PEFT adapter folder: no adapter_config.json");
  }

  @Test
  void malformedConfigNamesTheFileAndTheLocation() throws IOException {
    write(
        "{\"peft_type\": \"LORA\",\n  \"r\": 8,,\n}",
        onePair(new long[] {2, 3}, new long[] {4, 2}));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            config
                + ": malformed JSON at line 2, column 10: Unexpected character (',' (code 44)):"
                + " was expecting double-quote to start field name");
  }

  @Test
  void loraAWithoutLoraBIsRefused() throws IOException {
    write(
        LORA_CONFIG,
        new SafetensorsWriter().addF32(P + "q.lora_A.weight", new long[] {2, 3}, iota(6, 0)));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            weights
                + ": tensor '"
                + P
                + "q.lora_A.weight': lora_A has no matching lora_B for module '"
                + P
                + "q'");
  }

  @Test
  void loraBWithoutLoraAIsRefused() throws IOException {
    write(
        LORA_CONFIG,
        new SafetensorsWriter().addF32(P + "q.lora_B.weight", new long[] {3, 2}, iota(6, 0)));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            weights
                + ": tensor '"
                + P
                + "q.lora_B.weight': lora_B has no matching lora_A for module '"
                + P
                + "q'");
  }

  @Test
  void rankMismatchNamesBothTensors() throws IOException {
    write(LORA_CONFIG, onePair(new long[] {8, 3}, new long[] {4, 4}));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            weights
                + ": tensor '"
                + P
                + "q.lora_A.weight': rank mismatch: lora_A '"
                + P
                + "q.lora_A.weight' is [8, 3] (rank 8) but lora_B '"
                + P
                + "q.lora_B.weight' is [4, 4] (rank 4)");
  }

  @Test
  void mixedRanksWithoutRankPatternAreAccepted() throws IOException {
    write(
        LORA_CONFIG,
        onePair(new long[] {2, 3}, new long[] {4, 2})
            .addF32(P + "v.lora_A.weight", new long[] {4, 3}, iota(12, 0))
            .addF32(P + "v.lora_B.weight", new long[] {5, 4}, iota(20, 0)));
    assertThat(open().modules()).extracting(LoraModule::rank).containsExactly(2, 4);
  }

  @Test
  void convLoraBMustHaveAOneByOneKernel() throws IOException {
    write(LORA_CONFIG, onePair(new long[] {2, 3, 3, 3}, new long[] {4, 2, 3, 3}));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            weights
                + ": tensor '"
                + P
                + "q.lora_B.weight': lora_B must be [out, rank] (or [out, rank, 1, 1] for conv),"
                + " found [4, 2, 3, 3]");
  }

  @Test
  void oneDimensionalFactorIsRefused() throws IOException {
    write(LORA_CONFIG, onePair(new long[] {6}, new long[] {4, 2}));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            weights
                + ": tensor '"
                + P
                + "q.lora_A.weight': lora_A must be [rank, in] (or [rank, in, kh, kw] for conv),"
                + " found [6]");
  }

  @Test
  void twoCopiesOfOneFactorAreRefused() throws IOException {
    write(
        LORA_CONFIG,
        onePair(new long[] {2, 3}, new long[] {4, 2})
            .addF32(P + "q.lora_A.default.weight", new long[] {2, 3}, iota(6, 0)));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(weights + ": tensor '" + P + "q.lora_")
        .hasMessageContaining("second lora_A for module '" + P + "q' (first: '");
  }

  @Test
  void truncatedWeightsAreIncomplete() throws IOException {
    write(LORA_CONFIG, onePair(new long[] {2, 3}, new long[] {4, 2}));
    Path file = Path.of(weights);
    byte[] whole = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(whole, whole.length - 4));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(IncompleteAdapterException.class)
        .hasMessage(
            weights
                + ": tensor '"
                + P
                + "q.lora_B.weight': data_offsets [24, 56] reach past the end of the data area (52"
                + " bytes; file truncated?)");
  }

  @Test
  void unknownDtypeIsRefused() throws IOException {
    write(LORA_CONFIG, onePair(new long[] {2, 3}, new long[] {4, 2}));
    Path file = Path.of(weights);
    // Same length, so every offset stays valid: only the dtype name changes.
    String bytes =
        new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1)
            .replaceFirst("\"F32\"", "\"F31\"");
    Files.write(file, bytes.getBytes(StandardCharsets.ISO_8859_1));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(
            weights + ": tensor '" + P + "q.lora_A.weight': unknown dtype \"F31\"; known: [BOOL,");
  }

  @Test
  void integerLoraFactorIsRefused() throws IOException {
    write(
        LORA_CONFIG,
        new SafetensorsWriter()
            .add(P + "q.lora_A.weight", DType.I32, new long[] {2, 3}, new byte[24])
            .addF32(P + "q.lora_B.weight", new long[] {4, 2}, iota(8, 0)));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            weights
                + ": tensor '"
                + P
                + "q.lora_A.weight': LoRA factor has dtype I32; only F32, F16 and BF16 are"
                + " supported");
  }

  @Test
  void nanAndInfinityInAFactorAreCountedAndRefused() throws IOException {
    float[] b = iota(8, 0);
    b[1] = Float.NaN;
    b[5] = Float.NEGATIVE_INFINITY;
    b[6] = Float.intBitsToFloat(0x7FC0_0001);
    write(
        LORA_CONFIG,
        new SafetensorsWriter()
            .addF32(P + "q.lora_A.weight", new long[] {2, 3}, iota(6, 0))
            .addF32(P + "q.lora_B.weight", new long[] {4, 2}, b));
    PeftAdapter adapter = open();
    assertThatThrownBy(() -> PeftAdapterReader.readFactors(adapter, adapter.modules().get(0)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            weights
                + ": tensor '"
                + P
                + "q.lora_B.weight': 3 of 8 values are NaN or infinite; LoRA factors must be finite"
                + " (was the training loss diverging?)");
  }

  @Test
  void tensorNamesWithControlCharactersAreRefusedNotPassedThrough() throws IOException {
    // The '\n' kept the name from matching the LoRA pattern: it was stored uncompressed.
    write(
        LORA_CONFIG,
        new SafetensorsWriter()
            .addF32(P + "layers.0.q\n.lora_A.weight", new long[] {2, 3}, iota(6, 1))
            .addF32(P + "layers.0.q\n.lora_B.weight", new long[] {4, 2}, iota(8, 1)));
    assertThatThrownBy(this::open)
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            weights
                + ": tensor '"
                + P
                + "layers.0.q\\n.lora_A.weight': name holds the control character U+000A; PEFT"
                + " tensor names are module paths, which never do (a corrupted or hand-edited"
                + " file?)");
  }
}
