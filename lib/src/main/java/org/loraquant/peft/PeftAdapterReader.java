package org.loraquant.peft;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.loraquant.codec.LoraFactors;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.FileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.InputFile;
import org.loraquant.io.JsonFiles;
import org.loraquant.io.RegularFiles;
import org.loraquant.io.IoErrors;
import org.loraquant.safetensors.SafetensorsHeader;
import org.loraquant.safetensors.SafetensorsReader;
import org.loraquant.safetensors.TensorInfo;

/**
 * Reads PEFT LoRA adapter folders strictly: anything that is not a well-formed LoRA adapter in
 * safetensors is refused with the file, the tensor and the problem. Opening reads only the config
 * and the safetensors header; {@link #readFactors} then reads one layer's two byte ranges.
 */
public final class PeftAdapterReader {
  public static final String WEIGHTS_FILE = "adapter_model.safetensors";

  /** PyTorch pickle weights: never loaded, since unpickling runs arbitrary code. */
  public static final String PICKLE_WEIGHTS_FILE = "adapter_model.bin";

  public static final String SUPPORTED_PEFT_TYPE = "LORA";

  private PeftAdapterReader() {}

  /**
   * Opens the adapter in folder {@code dir}: reads and checks the config and the safetensors header
   * and pairs the LoRA factors.
   *
   * @throws IncompleteAdapterException if the folder looks like an upload in progress
   * @throws InvalidAdapterException if it is not a LoRA adapter we accept
   * @throws UncheckedIOException if storage fails
   */
  public static PeftAdapter open(FileIO io, String dir) {
    String folder = FolderPaths.withoutTrailingSlash(dir);
    Map<String, Long> listed = new TreeMap<>();
    for (String name : list(io, folder)) {
      listed.put(name, -1L);
    }
    return open(io, folder, listed);
  }

  /**
   * As {@link #open(FileIO, String)}, from a listing of the folder already made: file names and
   * their lengths (-1 where unknown). Costs no listing and no length request: one read of the
   * config and, mostly, one of the header (see {@link SafetensorsHeader#readHeaderBytes}).
   */
  public static PeftAdapter open(FileIO io, String dir, Map<String, Long> listed) {
    String folder = FolderPaths.withoutTrailingSlash(dir);
    return open(io, folder, listed, name -> io.newInputFile(folder + "/" + name, listed.get(name)));
  }

  /**
   * As {@link #open(FileIO, String, Map)}, the config and weights file read through {@code
   * files} (by file name): e.g. views that serve their reads from bytes already read. The checks,
   * the refusals and their messages are the same; {@code io} is asked only when the weights file
   * is not listed.
   */
  public static PeftAdapter open(
      FileIO io, String dir, Map<String, Long> listed, Function<String, InputFile> files) {
    String folder = FolderPaths.withoutTrailingSlash(dir);
    String configPath = folder + "/" + AdapterConfig.FILE_NAME;
    String weightsPath = folder + "/" + WEIGHTS_FILE;
    if (!listed.containsKey(AdapterConfig.FILE_NAME)) {
      if (listed.containsKey(WEIGHTS_FILE)) {
        throw new IncompleteAdapterException(
            configPath, null, "missing, but " + WEIGHTS_FILE + " is there (upload in progress?)");
      }
      throw InvalidAdapterException.of(
          folder,
          listed.isEmpty()
              ? "no such adapter folder, or it is empty"
              : "not a PEFT adapter folder: no " + AdapterConfig.FILE_NAME);
    }
    byte[] configBytes =
        readConfigBytes(files.apply(AdapterConfig.FILE_NAME));
    checkPeftType(configPath, AdapterConfig.parse(configPath, configBytes));
    if (!listed.containsKey(WEIGHTS_FILE)) {
      if (listed.containsKey(PICKLE_WEIGHTS_FILE)) {
        throw InvalidAdapterException.of(
            folder + "/" + PICKLE_WEIGHTS_FILE,
            "pickle weights are never loaded (unpickling can run code); convert the adapter to "
                + WEIGHTS_FILE
                + ", e.g. with safetensors.torch.save_file or PEFT's"
                + " save_pretrained(safe_serialization=True)");
      }
      // A listing of files leaves out a directory of that name, which no upload turns into the
      // weights: refused, not waited for (one request, on this rare path only).
      try {
        if (io.isDirectory(weightsPath)) {
          throw RegularFiles.notRegular(weightsPath, "a directory");
        }
      } catch (IOException e) {
        throw IoErrors.cannotRead(weightsPath, e);
      }
      throw new IncompleteAdapterException(
          weightsPath,
          null,
          "missing, but " + AdapterConfig.FILE_NAME + " is there (upload in progress?)");
    }
    InputFile weights = files.apply(WEIGHTS_FILE);
    byte[] headerBytes = SafetensorsHeader.readHeaderBytes(weights);
    long weightsLength;
    try {
      weightsLength = weights.length(); // known by now: readHeaderBytes asked for it
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + weightsPath, e);
    }
    return reopen(new OpenedAdapter(folder, configBytes, headerBytes, weightsLength), weights);
  }

  /**
   * The adapter {@code opened} describes, read through {@code weights} (its weights file, e.g.
   * {@link OpenedAdapter#weightsFile}); parses and checks the config and header again but reads
   * nothing.
   */
  public static PeftAdapter reopen(OpenedAdapter opened, InputFile weights) {
    AdapterConfig config = AdapterConfig.parse(opened.configPath(), opened.configBytes());
    checkPeftType(opened.configPath(), config);
    SafetensorsHeader header =
        SafetensorsHeader.parse(weights.location(), opened.weightsLength(), opened.headerBytes());
    return pair(opened, config, SafetensorsReader.of(weights, header));
  }

  private static void checkPeftType(String configPath, AdapterConfig config) {
    String peftType = config.peftType().orElse(null);
    if (!SUPPORTED_PEFT_TYPE.equals(peftType)) {
      throw InvalidAdapterException.of(
          configPath,
          (peftType == null ? "peft_type is missing" : "peft_type is " + peftType)
              + ", but only LORA adapters are supported");
    }
  }

  /**
   * Reads one layer's factors, touching only its two tensors' byte ranges.
   *
   * @throws InvalidAdapterException naming the tensor and the count if a factor holds NaN or Inf
   */
  public static LoraFactors readFactors(PeftAdapter adapter, LoraModule module) {
    checkBelongs(adapter, module.a());
    checkBelongs(adapter, module.b());
    float[] b = readFinite(adapter.weights(), module.b());
    float[] a = readFinite(adapter.weights(), module.a());
    return new LoraFactors(module.m(), module.n(), module.rank(), b, a);
  }

  /** A pass-through tensor's bytes, verbatim. */
  public static byte[] readTensorBytes(PeftAdapter adapter, TensorInfo tensor) {
    checkBelongs(adapter, tensor);
    return adapter.weights().readBytes(tensor);
  }

  private static PeftAdapter pair(
      OpenedAdapter opened, AdapterConfig config, SafetensorsReader weights) {
    String where = weights.file().location();
    Map<String, TensorInfo> as = new TreeMap<>();
    Map<String, TensorInfo> bs = new TreeMap<>();
    List<TensorInfo> passThrough = new ArrayList<>();
    for (TensorInfo t : weights.header().tensors()) {
      checkPrintableName(where, t.name());
      LoraKey key = LoraKey.parseOrNull(t.name());
      if (key == null) {
        passThrough.add(t);
        continue;
      }
      TensorInfo previous = (key.isA() ? as : bs).put(key.module(), t);
      if (previous != null) {
        throw new InvalidAdapterException(
            where,
            t.name(),
            "second "
                + key.factorName()
                + " for module '"
                + key.module()
                + "' (first: '"
                + previous.name()
                + "')");
      }
    }
    for (Map.Entry<String, TensorInfo> b : bs.entrySet()) {
      if (!as.containsKey(b.getKey())) {
        throw new InvalidAdapterException(
            where,
            b.getValue().name(),
            "lora_B has no matching lora_A for module '" + b.getKey() + "'");
      }
    }
    List<LoraModule> modules = new ArrayList<>();
    for (Map.Entry<String, TensorInfo> a : as.entrySet()) {
      TensorInfo b = bs.get(a.getKey());
      if (b == null) {
        throw new InvalidAdapterException(
            where,
            a.getValue().name(),
            "lora_A has no matching lora_B for module '" + a.getKey() + "'");
      }
      modules.add(module(where, a.getKey(), a.getValue(), b));
    }
    passThrough.sort(Comparator.comparing(TensorInfo::name));
    return new PeftAdapter(opened, config, weights, modules, passThrough);
  }

  /**
   * Tensor names are module paths: PEFT never writes a control character into one. A name with a
   * newline does not match the LoRA patterns and so was passed through uncompressed; refusing it
   * names the problem instead (the message shows the character escaped).
   */
  private static void checkPrintableName(String where, String name) {
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (Character.isISOControl(c)) {
        throw new InvalidAdapterException(
            where,
            name,
            String.format(
                "name holds the control character U+%04X; PEFT tensor names are module paths,"
                    + " which never do (a corrupted or hand-edited file?)",
                (int) c));
      }
    }
  }

  /** Checks one pair's dtypes and shapes and flattens conv shapes to the 2-D m x n view. */
  private static LoraModule module(String where, String name, TensorInfo a, TensorInfo b) {
    for (TensorInfo t : List.of(a, b)) {
      if (!t.dtype().isLoraFloat()) {
        throw new InvalidAdapterException(
            where,
            t.name(),
            "LoRA factor has dtype " + t.dtype() + "; only F32, F16 and BF16 are supported");
      }
    }
    if (a.rank() < 2) {
      throw new InvalidAdapterException(
          where,
          a.name(),
          "lora_A must be [rank, in] (or [rank, in, kh, kw] for conv), found " + a.shapeString());
    }
    boolean trailingOnes = true;
    for (int i = 2; i < b.rank(); i++) {
      trailingOnes &= b.dim(i) == 1;
    }
    if (b.rank() < 2 || !trailingOnes) {
      throw new InvalidAdapterException(
          where,
          b.name(),
          "lora_B must be [out, rank] (or [out, rank, 1, 1] for conv), found " + b.shapeString());
    }
    long rank = a.dim(0);
    if (b.dim(1) != rank) {
      throw new InvalidAdapterException(
          where,
          a.name(),
          "rank mismatch: lora_A '"
              + a.name()
              + "' is "
              + a.shapeString()
              + " (rank "
              + rank
              + ") but lora_B '"
              + b.name()
              + "' is "
              + b.shapeString()
              + " (rank "
              + b.dim(1)
              + ")");
    }
    long m = b.dim(0);
    long n = rank == 0 ? product(a, 1) : a.numel() / rank;
    if (m > Integer.MAX_VALUE || n > Integer.MAX_VALUE || rank > Integer.MAX_VALUE) {
      throw new InvalidAdapterException(
          where,
          a.name(),
          "layer " + m + " x " + n + " with rank " + rank + " is too large to decode");
    }
    return new LoraModule(name, a, b, (int) rank, (int) m, (int) n);
  }

  /** Product of the tensor's dimensions from {@code from} on (already known not to overflow). */
  private static long product(TensorInfo t, int from) {
    long p = 1;
    for (int i = from; i < t.rank(); i++) {
      p *= t.dim(i);
    }
    return p;
  }

  private static float[] readFinite(SafetensorsReader weights, TensorInfo tensor) {
    float[] values = weights.readFloats(tensor);
    int nonFinite = 0;
    for (float v : values) {
      if (!Float.isFinite(v)) {
        nonFinite++;
      }
    }
    if (nonFinite > 0) {
      throw new InvalidAdapterException(
          weights.file().location(),
          tensor.name(),
          nonFinite
              + " of "
              + values.length
              + " values are NaN or infinite; LoRA factors must be finite (was the training loss"
              + " diverging?)");
    }
    return values;
  }

  private static void checkBelongs(PeftAdapter adapter, TensorInfo tensor) {
    if (!tensor.equals(adapter.header().tensor(tensor.name()))) {
      throw new IllegalArgumentException(
          "tensor '" + tensor.name() + "' is not part of the adapter at " + adapter.location());
    }
  }

  private static List<String> list(FileIO io, String folder) {
    try {
      return io.list(folder);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list " + folder + ": " + IoErrors.reason(e), e);
    }
  }

  private static byte[] readConfigBytes(InputFile file) {
    try {
      return JsonFiles.read(file);
    } catch (IOException e) {
      throw IoErrors.cannotRead(file.location(), e);
    }
  }
}
