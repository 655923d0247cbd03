package org.loraquant.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.fleet.FleetSummary;
import org.loraquant.fleet.ModelShape;
import org.loraquant.options.Flags;
import org.loraquant.options.UsageException;

/**
 * {@code generate-fleet OUT_DIR --adapters N [--shape NAME] [--rank R] [--seed S]}: writes a
 * synthetic fleet of PEFT adapters (see {@link FleetGenerator}). OUT_DIR is a local path, or a
 * Hadoop URI (s3a://, hdfs://, file:) when it has a scheme.
 */
final class GenerateFleetCommand implements Command {
  static final String DEFAULT_SHAPE = ModelShape.LLAMA2_7B.name();
  static final long DEFAULT_SEED = 42;

  @Override
  public String name() {
    return "generate-fleet";
  }

  @Override
  public String summary() {
    return "OUT_DIR --adapters N [--shape "
        + String.join("|", ModelShape.names())
        + "] [--rank R] [--seed S]  write a synthetic PEFT fleet";
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    Flags flags = Flags.parse(args, Set.of("--adapters", "--shape", "--rank", "--seed"), Set.of());
    String root = flags.singlePositional("OUT_DIR");
    int adapters = flags.requiredInteger("--adapters", 1);
    ModelShape shape;
    try {
      shape = ModelShape.named(flags.string("--shape", DEFAULT_SHAPE));
    } catch (LoraQuantException e) {
      throw new UsageException(e.getMessage());
    }
    int rank = flags.integer("--rank", 0, 1);
    long seed = flags.longValue("--seed", DEFAULT_SEED);

    long start = System.nanoTime();
    FleetSummary summary =
        new FleetGenerator(PathStorage.forPath(root), new FleetGenerator.Options(adapters, shape, rank, seed))
            .generate(root);
    double seconds = (System.nanoTime() - start) / 1e9;
    long bytes = summary.totalBytes();
    out.printf(
        Locale.ROOT,
        "generated %d adapters (%s, %d LoRA layers) in %s: %d bytes (%.2f GB) in %.1f s, %.0f"
            + " MB/s%n",
        summary.adapters().size(),
        shape.name(),
        summary.totalLayers(),
        root,
        bytes,
        bytes / 1e9,
        seconds,
        bytes / 1e6 / Math.max(seconds, 1e-9));
    return 0;
  }
}
