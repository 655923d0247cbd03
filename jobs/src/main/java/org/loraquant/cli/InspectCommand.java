package org.loraquant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.loraquant.io.FileIO;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.safetensors.TensorInfo;
import org.loraquant.options.UsageException;

/**
 * {@code loraquant inspect PATH [--json]}: one line per LoRA module, then the pass-through tensors,
 * then the totals. With {@code --json} every line is one JSON object with a {@code kind} field
 * ({@code lora}, {@code pass_through}, {@code totals}). Reads only the config and the header. PATH
 * is a local folder or a Hadoop URI (s3a://, file:, hdfs://), as for compress and decompress.
 *
 * <p>A compressed adapter (a folder with {@code loraquant_manifest.json} or
 * {@code loraquant_model.safetensors}, or that model file itself) is shown by
 * {@link CompressedInspection}.
 */
final class InspectCommand implements Command {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public String name() {
    return "inspect";
  }

  @Override
  public String summary() {
    return "PATH [--json]  list a PEFT or compressed adapter's layers, pass-through tensors and totals";
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    boolean json = false;
    String path = null;
    for (String arg : args) {
      if (arg.equals("--json")) {
        json = true;
      } else if (arg.startsWith("--")) {
        throw new UsageException("unknown option " + arg);
      } else if (path == null) {
        path = arg;
      } else {
        throw new UsageException("expected one PATH, got '" + path + "' and '" + arg + "'");
      }
    }
    if (path == null) {
      throw new UsageException("missing PATH (an adapter folder)");
    }
    FileIO io = PathStorage.forPath(path);
    String compressedFolder = CompressedInspection.folderOf(io, path);
    if (compressedFolder != null) {
      CompressedInspection.print(io, compressedFolder, json, out);
      return 0;
    }
    PeftAdapter adapter = PeftAdapterReader.open(io, path);
    List<InspectLine> lines = new ArrayList<>();
    for (LoraModule m : adapter.modules()) {
      lines.add(module(m));
    }
    for (TensorInfo t : adapter.passThrough()) {
      lines.add(passThrough(t));
    }
    lines.add(totals(adapter));
    for (InspectLine line : lines) {
      out.println(json ? JSON.writeValueAsString(line.json()) : line.text());
    }
    return 0;
  }

  private static InspectLine module(LoraModule m) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("m", m.m());
    fields.put("n", m.n());
    fields.put("rank", m.rank());
    fields.put("dtype", m.dtypeName());
    return new InspectLine("lora", "module", m.module(), fields);
  }

  private static InspectLine passThrough(TensorInfo t) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("shape", t.shape());
    fields.put("dtype", t.dtype().name());
    fields.put("bytes", t.byteLength());
    return new InspectLine("pass_through", "tensor", t.name(), fields);
  }

  private static InspectLine totals(PeftAdapter a) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("modules", a.modules().size());
    fields.put("lora_params", a.loraParams());
    fields.put("pass_through_tensors", a.passThrough().size());
    fields.put("pass_through_params", a.passThroughParams());
    fields.put("tensor_bytes", a.tensorBytes());
    fields.put("file_bytes", a.fileBytes());
    return new InspectLine("totals", null, null, fields);
  }
}
