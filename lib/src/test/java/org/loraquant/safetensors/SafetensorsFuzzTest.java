package org.loraquant.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.FileIO;
import org.loraquant.peft.AdapterConfig;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.testing.MemoryFileIO;
import org.loraquant.testing.SyntheticAdapter;

/**
 * Seeded random mutations of real adapter files (byte flips, truncations, extensions, header
 * length and header text edits, config edits), read through the PEFT adapter reader down to every
 * tensor. Every case must either be refused with an {@link InvalidAdapterException} whose message
 * is one non-empty line, or read as the reference library would read it (tensors tiling the file
 * exactly, printable names); any other exception, a read longer than the file (an allocation the
 * file's size does not bound) or a hang fails the test, naming the case to replay.
 * The timeout is a guard against hangs, not a speed check.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SafetensorsFuzzTest {
  private static final long SEED = 20260316L;
  private static final int CASES = 5000;
  private static final String DIR = "mem/adapter";
  private static final String CONFIG = DIR + "/" + AdapterConfig.FILE_NAME;
  private static final String WEIGHTS = DIR + "/" + PeftAdapterReader.WEIGHTS_FILE;

  /** Strings a header edit splices in: the values readers most often get wrong. */
  private static final List<String> SPLICES =
      List.of(
          "\\ud800", "\\u0000", "\n", "1e400", "-1", "0", "18446744073709551615",
          "9223372036854775807", "4294967296", "null", "[]", "{}", "\"\"", "\"F32\"", "\"f32\"",
          "\"I64\"", "[0,0]", "[1,0]", "[0]", ",", "}", "{\"__metadata__\":", "\u00e9", "\ufeff",
          "\"__metadata__\"", "true", "1.5", "[[[[[[[[", "\"lora_A\"", ".lora_A.weight");

  @TempDir static Path tmp;
  private static final List<Map<String, byte[]>> ORIGINALS = new ArrayList<>();

  @BeforeAll
  static void realAdapters() throws IOException {
    ORIGINALS.add(
        folder(
            new SyntheticAdapter(1, 4)
                .linear("base_model.model.layers.0.self_attn.q_proj", 12, 10, 4, DType.F32, false)
                .linear("base_model.model.layers.0.self_attn.v_proj", 8, 10, 4, DType.F16, false)
                .passThrough("base_model.model.score.weight", DType.BF16, 3, 10)
                .writeTo(tmp.resolve("a"))));
    ORIGINALS.add(
        folder(
            new SyntheticAdapter(2, 2)
                .conv("base_model.model.conv", 6, 3, 3, 3, 2)
                .linear("base_model.model.fc", 5, 7, 2, DType.BF16, true)
                .writeTo(tmp.resolve("b"))));
  }

  private static Map<String, byte[]> folder(Path dir) throws IOException {
    Map<String, byte[]> files = new TreeMap<>();
    files.put(CONFIG, Files.readAllBytes(dir.resolve(AdapterConfig.FILE_NAME)));
    files.put(WEIGHTS, Files.readAllBytes(dir.resolve(PeftAdapterReader.WEIGHTS_FILE)));
    return files;
  }

  @Test
  void everyMutationReadsOrIsRefusedWithAOneLineMessage() {
    Random random = new Random(SEED);
    int read = 0;
    int refused = 0;
    for (int c = 0; c < CASES; c++) {
      Map<String, byte[]> files = new TreeMap<>(ORIGINALS.get(random.nextInt(ORIGINALS.size())));
      String target = random.nextInt(4) == 0 ? CONFIG : WEIGHTS;
      String mutation = mutate(random, files, target);
      String replay = "case " + c + " (seed " + SEED + "): " + mutation + " of " + target;
      PeftAdapter adapter;
      try {
        adapter = readEverything(new MemoryFileIO(files));
      } catch (InvalidAdapterException e) {
        assertThat(e.getMessage()).as(replay).isNotBlank().doesNotContain("\n", "\r");
        refused++;
        continue;
      } catch (RuntimeException | Error e) {
        throw new AssertionError(replay + " threw " + e, e);
      }
      // What was read is what the reference library would read: the tensors tile the file after
      // the header exactly, and every name is printable, valid Unicode.
      SafetensorsHeader header = adapter.header();
      assertThat(header.dataStart() + header.tensorBytes())
          .as(replay)
          .isEqualTo(files.get(WEIGHTS).length);
      for (TensorInfo t : header.tensors()) {
        assertThat(InvalidAdapterException.printable(t.name())).as(replay).isEqualTo(t.name());
      }
      read++;
    }
    // The mutations must reach both outcomes, or the test would prove nothing.
    assertThat(read).as("cases read").isGreaterThan(CASES / 50);
    assertThat(refused).as("cases refused").isGreaterThan(CASES / 2);
  }

  private static PeftAdapter readEverything(FileIO io) {
    PeftAdapter adapter = PeftAdapterReader.open(io, DIR);
    for (LoraModule module : adapter.modules()) {
      PeftAdapterReader.readFactors(adapter, module);
    }
    for (TensorInfo t : adapter.passThrough()) {
      PeftAdapterReader.readTensorBytes(adapter, t);
    }
    return adapter;
  }

  /** Applies one random mutation to {@code files[target]}; returns what it did, for replay. */
  private static String mutate(Random random, Map<String, byte[]> files, String target) {
    byte[] bytes = files.get(target).clone();
    int headerEnd =
        target.equals(WEIGHTS)
            ? (int) Math.min(bytes.length, 8 + ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong())
            : bytes.length;
    String what;
    switch (random.nextInt(7)) {
      case 0 -> {
        int flips = 1 + random.nextInt(4);
        for (int i = 0; i < flips; i++) {
          bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
        }
        what = flips + " bit flips anywhere";
      }
      case 1 -> {
        int at = random.nextInt(headerEnd);
        bytes[at] = (byte) random.nextInt(256);
        what = "byte " + at + " of the header set at random";
      }
      case 2 -> {
        int length = random.nextInt(bytes.length);
        bytes = java.util.Arrays.copyOf(bytes, length);
        what = "truncated to " + length;
      }
      case 3 -> {
        int extra = 1 + random.nextInt(64);
        byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + extra);
        for (int i = bytes.length; i < longer.length; i++) {
          longer[i] = (byte) (random.nextBoolean() ? ' ' : random.nextInt(256));
        }
        bytes = longer;
        what = extra + " bytes appended";
      }
      case 4 -> {
        if (!target.equals(WEIGHTS)) {
          return mutate(random, files, target);
        }
        long declared = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        long length =
            switch (random.nextInt(3)) {
              case 0 -> declared + random.nextInt(17) - 8;
              case 1 -> random.nextLong();
              default -> random.nextInt(bytes.length + 16);
            };
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, length);
        what = "header length set to " + Long.toUnsignedString(length);
      }
      default -> {
        // Splice a token into the header text, replacing a random run of it.
        int textStart = target.equals(WEIGHTS) ? 8 : 0;
        if (headerEnd <= textStart) {
          return mutate(random, files, target);
        }
        int at = textStart + random.nextInt(headerEnd - textStart);
        int cut = Math.min(random.nextInt(6), headerEnd - at);
        String splice = SPLICES.get(random.nextInt(SPLICES.size()));
        byte[] insert = splice.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[bytes.length - cut + insert.length];
        System.arraycopy(bytes, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(bytes, at + cut, out, at + insert.length, bytes.length - at - cut);
        if (target.equals(WEIGHTS) && random.nextBoolean()) {
          // Keep the declared header length in step, so the edit reaches the JSON parser.
          long declared = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).getLong();
          ByteBuffer.wrap(out)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putLong(0, declared - cut + insert.length);
        }
        bytes = out;
        what = "header bytes [" + at + ", " + (at + cut) + ") replaced by " + escape(splice);
      }
    }
    files.put(target, bytes);
    return what;
  }

  private static String escape(String s) {
    return InvalidAdapterException.printable(s);
  }
}
