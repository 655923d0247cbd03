package org.loraquant.compress;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.loraquant.codec.LoraFactors;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.CompressedFormat;
import org.loraquant.format.JsonOutput;
import org.loraquant.format.NamedTensor;
import org.loraquant.format.SourceFactors;
import org.loraquant.io.FileIO;
import org.loraquant.io.OwnedFolder;
import org.loraquant.peft.AdapterConfig;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.FloatEncoding;
import org.loraquant.safetensors.SafetensorsWriter;

/**
 * Gives a compressed adapter back its standard PEFT form: the source config without our block,
 * and adapter_model.safetensors with the source tensor names and shapes, B^ and A^ in place of
 * B and A, and every pass-through tensor as it came.
 */
public final class AdapterDecompressor {
  private static final ObjectMapper JSON = JsonOutput.indented();
  /** Most tensor bytes of a decompressed weights file: it is built in one array, with room for the header. */
  public static final long MAX_WEIGHTS_BYTES = Integer.MAX_VALUE - 8 - (64L << 20);

  private AdapterDecompressor() {}

  /** The two files of the PEFT folder. */
  public record PeftFiles(byte[] config, byte[] weights) {}

  /**
   * @throws LoraQuantException before decoding anything, if the weights file would be larger than
   *     {@link #MAX_WEIGHTS_BYTES}
   */
  public static PeftFiles decompress(CompressedAdapter adapter, OutputDType dtype) throws IOException {
    return decompress(adapter, dtype, false);
  }

  /**
   * As {@link #decompress(CompressedAdapter, OutputDType)}; with {@code trimRank}, every layer at
   * the rank it stores rather than its original rank, and the config's {@code r},
   * {@code rank_pattern} and {@code alpha_pattern} written to match ({@link RankTrim}).
   */
  public static PeftFiles decompress(CompressedAdapter adapter, OutputDType dtype, boolean trimRank)
      throws IOException {
    checkWeightsSize(adapter, dtype);
    SafetensorsWriter w = new SafetensorsWriter();
    adapter.sourceMetadata().forEach(w::metadata);
    Map<String, Integer> trimmedRanks = new java.util.HashMap<>();
    for (CompressedAdapter.Layer layer : adapter.layers()) {
      SourceFactors s = layer.source();
      LoraFactors f;
      long[] shapeB = s.shapeB();
      long[] shapeA = s.shapeA();
      if (trimRank) {
        int[] kept = RankTrim.keptComponents(layer);
        f = RankTrim.factors(layer.decode(), kept);
        shapeB = RankTrim.shape(shapeB, true, kept.length);
        shapeA = RankTrim.shape(shapeA, false, kept.length);
        trimmedRanks.put(layer.module(), kept.length);
      } else {
        // Both versions decode to B^ and A^ at the original rank: dropped or missing components are zeros.
        f = layer.decode().toLoraFactors();
      }
      w.add(s.loraBName(), dtype.resolve(s.dtypeB()), shapeB, FloatEncoding.encode(f.b(), dtype.resolve(s.dtypeB())));
      w.add(s.loraAName(), dtype.resolve(s.dtypeA()), shapeA, FloatEncoding.encode(f.a(), dtype.resolve(s.dtypeA())));
    }
    for (NamedTensor t : adapter.passThrough()) {
      w.add(t.name(), t.dtype(), t.shape(), t.data());
    }
    ObjectNode config = adapter.config().deepCopy();
    config.remove(CompressedFormat.CONFIG_BLOCK);
    if (trimRank) {
      RankTrim.rewriteConfig(config, adapter.layers(), trimmedRanks);
    }
    return new PeftFiles(JSON.writeValueAsBytes(config), w.toByteArray());
  }

  /**
   * The tensor bytes of the weights file, computed from the layers' shapes before any is decoded:
   * the file is built in one byte array, so a larger one could only end in OutOfMemoryError.
   */
  private static void checkWeightsSize(CompressedAdapter adapter, OutputDType dtype) {
    long bytes = 0;
    try {
      for (CompressedAdapter.Layer layer : adapter.layers()) {
        long b = Math.multiplyExact((long) layer.m() * layer.rank(), dtype.resolve(layer.source().dtypeB()).size());
        long a = Math.multiplyExact((long) layer.rank() * layer.n(), dtype.resolve(layer.source().dtypeA()).size());
        bytes = Math.addExact(bytes, Math.addExact(a, b));
      }
      for (NamedTensor t : adapter.passThrough()) {
        bytes = Math.addExact(bytes, t.data().length);
      }
    } catch (ArithmeticException e) {
      bytes = Long.MAX_VALUE;
    }
    if (bytes > MAX_WEIGHTS_BYTES) {
      throw new LoraQuantException("the decompressed " + PeftAdapterReader.WEIGHTS_FILE + " would hold " + bytes
          + " bytes of tensors, more than the " + MAX_WEIGHTS_BYTES + " bytes decompression can write in one file"
          + (dtype == OutputDType.F16 || dtype == OutputDType.BF16 ? ""
              : "; a 16-bit --dtype (f16, bf16) makes it smaller"));
    }
  }

  /**
   * Marks a folder as written by decompress. PEFT loaders look only for the config and the
   * weights, and neither can tell a decompressed adapter from an original one (the config is the
   * source's, byte for byte): without this file a later decompress could not know whether it may
   * replace the folder, and replacing an original adapter with a lossy one is data loss. Written
   * first and deleted last, so that every folder holding our config or weights also holds it.
   */
  public static final String MARKER_FILE = ".loraquant_decompressed";

  /** Contents of {@link #MARKER_FILE}: constant, so the output stays reproducible. */
  static final byte[] MARKER_BYTES =
      "written by loraquant decompress; a later decompress --overwrite may replace this folder\n"
          .getBytes(StandardCharsets.UTF_8);

  /**
   * The files of a decompressed folder in write order: the marker first, the config last (loaders
   * look for it first, so on object stores it is the completion marker).
   */
  public static final OwnedFolder.Layout LAYOUT =
      new OwnedFolder.Layout(
          "decompress",
          List.of(MARKER_FILE, PeftAdapterReader.WEIGHTS_FILE, AdapterConfig.FILE_NAME),
          Set.of(MARKER_FILE));

  /**
   * Writes the PEFT folder at {@code dir}, replacing a previous decompressed output there (never
   * anything else: see {@link OwnedFolder}). Staged beside it and moved into place where renames
   * are atomic, so a crash never leaves a half-written adapter that looks complete; on object
   * stores the config, which loaders look for first, is written last.
   *
   * @throws org.loraquant.errors.LoraQuantException if {@code dir} is a file or holds a config or
   *     weights file that decompress did not write; nothing is touched then
   */
  public static void write(FileIO io, String dir, CompressedAdapter adapter, OutputDType dtype) throws IOException {
    write(io, dir, adapter, dtype, false);
  }

  /** As {@link #write(FileIO, String, CompressedAdapter, OutputDType)}, at the stored ranks if {@code trimRank}. */
  public static void write(FileIO io, String dir, CompressedAdapter adapter, OutputDType dtype, boolean trimRank)
      throws IOException {
    PeftFiles files = decompress(adapter, dtype, trimRank);
    OwnedFolder.write(io, dir, LAYOUT, Map.of(
        MARKER_FILE, MARKER_BYTES,
        PeftAdapterReader.WEIGHTS_FILE, files.weights(),
        AdapterConfig.FILE_NAME, files.config()));
  }
}
