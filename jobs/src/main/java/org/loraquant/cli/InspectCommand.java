package org.loraquant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.List;
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
    for (LoraModule m : adapter.modules()) {
      out.println(json ? JSON.writeValueAsString(moduleJson(m)) : moduleText(m));
    }
    for (TensorInfo t : adapter.passThrough()) {
      out.println(json ? JSON.writeValueAsString(passThroughJson(t)) : passThroughText(t));
    }
    out.println(json ? JSON.writeValueAsString(totalsJson(adapter)) : totalsText(adapter));
    return 0;
  }

  private static String moduleText(LoraModule m) {
    return "lora "
        + m.module()
        + " m="
        + m.m()
        + " n="
        + m.n()
        + " rank="
        + m.rank()
        + " dtype="
        + m.dtypeName();
  }

  private static ObjectNode moduleJson(LoraModule m) {
    ObjectNode o = JSON.createObjectNode();
    o.put("kind", "lora");
    o.put("module", m.module());
    o.put("m", m.m());
    o.put("n", m.n());
    o.put("rank", m.rank());
    o.put("dtype", m.dtypeName());
    return o;
  }

  private static String passThroughText(TensorInfo t) {
    return "pass_through "
        + t.name()
        + " shape="
        + t.shapeString().replace(" ", "")
        + " dtype="
        + t.dtype()
        + " bytes="
        + t.byteLength();
  }

  private static ObjectNode passThroughJson(TensorInfo t) {
    ObjectNode o = JSON.createObjectNode();
    o.put("kind", "pass_through");
    o.put("tensor", t.name());
    var shape = o.putArray("shape");
    for (long d : t.shape()) {
      shape.add(d);
    }
    o.put("dtype", t.dtype().name());
    o.put("bytes", t.byteLength());
    return o;
  }

  private static String totalsText(PeftAdapter a) {
    return "totals modules="
        + a.modules().size()
        + " lora_params="
        + a.loraParams()
        + " pass_through_tensors="
        + a.passThrough().size()
        + " pass_through_params="
        + a.passThroughParams()
        + " tensor_bytes="
        + a.tensorBytes()
        + " file_bytes="
        + a.fileBytes();
  }

  private static ObjectNode totalsJson(PeftAdapter a) {
    ObjectNode o = JSON.createObjectNode();
    o.put("kind", "totals");
    o.put("modules", a.modules().size());
    o.put("lora_params", a.loraParams());
    o.put("pass_through_tensors", a.passThrough().size());
    o.put("pass_through_params", a.passThroughParams());
    o.put("tensor_bytes", a.tensorBytes());
    o.put("file_bytes", a.fileBytes());
    return o;
  }
}
