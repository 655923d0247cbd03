package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.format.CompressedFormat;
import org.loraquant.safetensors.DType;
import org.loraquant.safetensors.SafetensorsWriter;
import org.loraquant.testing.Fifos;
import org.loraquant.testing.SyntheticAdapter;

/**
 * Hostile inputs on the command line: each is refused with exit code 1 and one line naming the
 * file and the problem, nothing is written, nothing hangs. The timeout only guards against the
 * FIFO hang these tests are about (a thread stuck in open(2) cannot be interrupted).
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HostileInputCommandTest {
  private record Run(int exitCode, List<String> err) {}

  private static final String Q = "base_model.model.model.layers.0.self_attn.q_proj";

  @TempDir Path tmp;
  private Path source;
  private Path out;

  @BeforeEach
  void writeSource() throws IOException {
    source = new SyntheticAdapter(5, 4).linear(Q, 16, 12, 4, DType.F32, false).writeTo(tmp.resolve("source"));
    out = tmp.resolve("out");
  }

  private static Run run(Object... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    List<String> argv = new ArrayList<>();
    for (Object a : args) {
      argv.add(a.toString());
    }
    int code =
        Main.run(
            argv,
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, err.toString(StandardCharsets.UTF_8).lines().toList());
  }

  private void assertRefused(String command, Path in, String message) {
    Run run = run(command, in, out);
    assertThat(run.exitCode()).as(run.err().toString()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.err()).containsExactly("loraquant " + command + ": " + message);
    assertThat(out).doesNotExist();
  }

  @Test
  void aFifoConfigIsRefusedNotWaitedOn() throws Exception {
    Path config = source.resolve("adapter_config.json");
    Files.delete(config);
    Fifos.make(config);
    assertRefused("compress", source, config + ": not a regular file (a FIFO); refused");
    Run inspect = run("inspect", source);
    assertThat(inspect.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(inspect.err()).hasSize(1);
  }

  @Test
  void weightsThatAreADirectoryAreRefused() throws Exception {
    Path weights = source.resolve("adapter_model.safetensors");
    Files.delete(weights);
    Files.createDirectories(weights.resolve("part"));
    assertRefused("compress", source, weights + ": not a regular file (a directory); refused");
  }

  @Test
  void aFifoManifestIsRefusedByDecompress() throws Exception {
    Path compressed = Files.createDirectories(tmp.resolve("compressed"));
    Path manifest = Fifos.make(compressed.resolve(CompressedFormat.MANIFEST_FILE));
    assertRefused("decompress", compressed, manifest + ": not a regular file (a FIFO); refused");
  }

  @Test
  void aHeaderLengthOneByteShortIsRefusedNotCompressedAsGarbage() throws Exception {
    // A header padded with one more space than its declared length counts: the space becomes
    // the first data byte and every tensor would be read one byte off.
    Path weights = source.resolve("adapter_model.safetensors");
    byte[] bytes = Files.readAllBytes(weights);
    long declared = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    byte[] shifted = new byte[bytes.length + 1];
    System.arraycopy(bytes, 0, shifted, 0, (int) (8 + declared));
    shifted[(int) (8 + declared)] = ' ';
    System.arraycopy(bytes, (int) (8 + declared), shifted, (int) (9 + declared), bytes.length - 8 - (int) declared);
    Files.write(weights, shifted);
    long dataBytes = bytes.length - 8 - declared;
    assertRefused(
        "compress",
        source,
        weights
            + ": the tensors cover "
            + dataBytes
            + " bytes but the data area after the header is "
            + (dataBytes + 1)
            + " bytes: the last 1 belong to no tensor (a wrong header length, or bytes appended to"
            + " the file?)");
  }

  @Test
  void aLoneSurrogateInATensorNameIsRefused() throws Exception {
    // Writing the name through Java would already mangle it: patch the escape into the header.
    Path weights = source.resolve("adapter_model.safetensors");
    String header = new String(Files.readAllBytes(weights), StandardCharsets.ISO_8859_1);
    String patched = header.replace("q_proj.lora_A", "q_pro\\ud800.lora_A");
    assertThat(patched).isNotEqualTo(header);
    Files.write(weights, patchedWithLength(patched.getBytes(StandardCharsets.ISO_8859_1), 5));
    Run run = run("compress", source, out);
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.err())
        .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .contains("q_pro\\ud800.lora_A", "unpaired UTF-16 surrogate");
    assertThat(out).doesNotExist();
  }

  /** The file with its header length raised by {@code grown} bytes (the patch made it longer). */
  private static byte[] patchedWithLength(byte[] file, int grown) {
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, b.getLong(0) + grown);
    return file;
  }

  @Test
  void aLoraAlphaADoubleCannotHoldIsRefused() throws Exception {
    Path config = source.resolve("adapter_config.json");
    Files.writeString(
        config,
        Files.readString(config).replaceFirst("\"lora_alpha\"\\s*:\\s*[0-9.]+", "\"lora_alpha\": 1e400"));
    assertRefused(
        "compress",
        source,
        config
            + ": 'lora_alpha' is 1e400, which a 64-bit float cannot hold (it would be read as"
            + " Infinity); write a number between 1e-308 and 1e308 in magnitude");
  }

  @Test
  void aNewlineInALoraTensorNameIsRefusedNotPassedThrough() throws Exception {
    Path weights = source.resolve("adapter_model.safetensors");
    Files.write(
        weights,
        new SafetensorsWriter()
            .addF32(Q + "\n.lora_A.weight", new long[] {4, 12}, new float[48])
            .addF32(Q + "\n.lora_B.weight", new long[] {16, 4}, new float[64])
            .toByteArray());
    assertRefused(
        "compress",
        source,
        weights
            + ": tensor '"
            + Q
            + "\\n.lora_A.weight': name holds the control character U+000A; PEFT tensor names are"
            + " module paths, which never do (a corrupted or hand-edited file?)");
  }

  @Test
  void aColonInTheFolderNameIsJustACharacter() throws Exception {
    Path colon = Files.move(source, tmp.resolve("run:2026-03-01"));
    Run run = run("compress", colon, tmp.resolve("out:1"));
    assertThat(run.exitCode()).as(run.err().toString()).isZero();
    assertThat(tmp.resolve("out:1").resolve(CompressedFormat.MANIFEST_FILE)).exists();
  }
}
