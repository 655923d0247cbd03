package org.loraquant.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.SyntheticAdapter;

/**
 * What one run of the command line printed, and the run itself: {@link Main#run} in this JVM, as
 * bin/loraquant runs it. Also the small adapter the command tests start from.
 */
record CommandRun(int exitCode, List<String> out, List<String> err) {
  /** Module paths of the synthetic adapters (a Llama-style PEFT prefix). */
  static final String Q = "base_model.model.model.layers.0.self_attn.q_proj";
  static final String V = "base_model.model.model.layers.0.self_attn.v_proj";

  /** Runs {@code loraquant ARGS} (each argument's {@code toString}); never throws for a failed command. */
  static CommandRun run(Object... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    List<String> argv = new ArrayList<>();
    for (Object a : args) {
      argv.add(a.toString());
    }
    int code = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new CommandRun(code, out.toString(StandardCharsets.UTF_8).lines().toList(),
        err.toString(StandardCharsets.UTF_8).lines().toList());
  }

  /**
   * An adapter of config rank 8 with one layer, {@link #Q}: 40 x 24 at rank 8 in F32, from
   * {@code seed}. Tests add layers or pass-through tensors before writing it.
   */
  static SyntheticAdapter smallAdapter(long seed) {
    return new SyntheticAdapter(seed, 8).linear(Q, 40, 24, 8, DType.F32, false);
  }
}
