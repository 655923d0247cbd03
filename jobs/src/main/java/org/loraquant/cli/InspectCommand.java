package org.loraquant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 */
final class InspectCommand implements Command {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public String name() {
    return "inspect";
  }

  @Override
  public String summary() {
    return "PATH [--json]  list a PEFT LoRA adapter's modules, pass-through tensors and totals";
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
    PeftAdapter adapter = PeftAdapterReader.open(PathStorage.forPath(path), path);
    List<Line> lines = new ArrayList<>();
    for (LoraModule m : adapter.modules()) {
      lines.add(module(m));
    }
    for (TensorInfo t : adapter.passThrough()) {
      lines.add(passThrough(t));
    }
    lines.add(totals(adapter));
    for (Line line : lines) {
      out.println(json ? JSON.writeValueAsString(line.json()) : line.text());
    }
    return 0;
  }

  private static Line module(LoraModule m) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("m", m.m());
    fields.put("n", m.n());
    fields.put("rank", m.rank());
    fields.put("dtype", m.dtypeName());
    return new Line("lora", "module", m.module(), fields);
  }

  private static Line passThrough(TensorInfo t) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("shape", t.shape());
    fields.put("dtype", t.dtype().name());
    fields.put("bytes", t.byteLength());
    return new Line("pass_through", "tensor", t.name(), fields);
  }

  private static Line totals(PeftAdapter a) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("modules", a.modules().size());
    fields.put("lora_params", a.loraParams());
    fields.put("pass_through_tensors", a.passThrough().size());
    fields.put("pass_through_params", a.passThroughParams());
    fields.put("tensor_bytes", a.tensorBytes());
    fields.put("file_bytes", a.fileBytes());
    return new Line("totals", null, null, fields);
  }

  /**
   * One line of output: its kind, the module or tensor it is about (none for the totals), and
   * named fields in order. Text puts the subject bare after the kind and the fields as
   * {@code name=value} (a shape as {@code [4,768]}); JSON puts the subject under
   * {@code subjectKey}.
   */
  private record Line(String kind, String subjectKey, String subject,
      Map<String, Object> fields) {
    String text() {
      StringBuilder text = new StringBuilder(kind);
      if (subject != null) {
        text.append(' ').append(subject);
      }
      fields.forEach((name, value) -> text.append(' ').append(name).append('=')
          .append(value instanceof long[] shape ? Arrays.toString(shape).replace(" ", "") : value));
      return text.toString();
    }

    ObjectNode json() {
      ObjectNode o = JSON.createObjectNode();
      o.put("kind", kind);
      if (subject != null) {
        o.put(subjectKey, subject);
      }
      fields.forEach((name, value) -> o.set(name, JSON.valueToTree(value)));
      return o;
    }
  }
}
