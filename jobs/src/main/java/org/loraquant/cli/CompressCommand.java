package org.loraquant.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.BudgetCompressionResult;
import org.loraquant.compress.CompressionManifest;
import org.loraquant.compress.CompressionResult;
import org.loraquant.compress.LayerReport;
import org.loraquant.compress.LayerReportJson;
import org.loraquant.format.CompressedAdapterWriter;
import org.loraquant.io.FileIO;
import org.loraquant.io.OwnedFolder;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.options.BudgetFlags;
import org.loraquant.options.CodecFlags;
import org.loraquant.options.Flags;
import org.loraquant.options.UsageException;

/**
 * {@code compress IN_DIR OUT_DIR [codec flags] [--stats FILE]}: compresses one PEFT adapter into
 * the compressed format (docs/FORMAT.md). {@code --stats} writes one JSON object per LoRA layer.
 * What OUT may be, and what {@code --overwrite} allows: {@link OutputFolderRule}.
 * Without {@code --budget} the paper mode writes format version 1; with it the budget mode
 * ({@link BudgetFlags}) writes version 2.
 */
final class CompressCommand implements Command {
  @Override
  public String name() {
    return "compress";
  }

  @Override
  public String summary() {
    return "IN_DIR OUT_DIR " + CodecFlags.usage(false) + " [--stats FILE] [--overwrite]  compress one adapter";
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    Set<String> options = new HashSet<>(CodecFlags.OPTIONS);
    options.addAll(BudgetFlags.OPTIONS);
    options.add("--stats");
    Flags flags = Flags.parse(args, options, Set.of("--overwrite"));
    List<String> dirs = flags.positionals();
    if (dirs.size() != 2) {
      throw new UsageException("expected IN_DIR OUT_DIR, got " + (dirs.isEmpty() ? "nothing" : String.join(" ", dirs)));
    }
    if (BudgetFlags.selected(flags)) {
      BudgetSettings budget = BudgetFlags.settings(flags);
      if (budget.scope() == BudgetScope.FLEET) {
        String scope = CodecSetting.BUDGET_SCOPE.flag();
        throw new UsageException(scope + " " + BudgetSettings.scopeName(BudgetScope.FLEET)
            + " shares one budget over a fleet: it is for the recompress job; compress one adapter"
            + " with " + scope + " " + BudgetSettings.scopeName(BudgetScope.ADAPTER));
      }
      return runBudget(flags, dirs, budget, out);
    }
    BudgetFlags.requireAbsent(flags);
    CodecSettings settings = CodecFlags.apply(flags, CodecSettings.defaults());
    FileIO io = PathStorage.forPath(dirs.get(0));
    FileIO outIo = PathStorage.forPath(dirs.get(1));
    OutputFolderRule.check(
        dirs.get(0), dirs.get(1), outIo, CompressedAdapterWriter.LAYOUT, flags.has("--overwrite"));
    PeftAdapter adapter = PeftAdapterReader.open(io, dirs.get(0));
    CompressionResult result = AdapterCompressor.compress(adapter, settings);
    byte[] manifest = CompressionManifest.of(result, null, Map.of()).toJson(settings);
    OwnedFolder.removeStaleStaging(outIo, dirs.get(1));
    CompressedAdapterWriter.write(outIo, dirs.get(1), result.adapter(), manifest);
    if (flags.has("--stats")) {
      writeStats(Path.of(flags.requiredString("--stats")), result);
    }
    long params = result.params();
    out.printf(Locale.ROOT,
        "compressed %s -> %s: %d LoRA layers, %d params, %.3f payload / %.3f effective bits per param,"
            + " weighted rel_error %.4f%n",
        dirs.get(0), dirs.get(1), result.layers().size(), params,
        params == 0 ? 0.0 : (double) result.payloadBits() / params,
        params == 0 ? 0.0 : (double) result.effectiveBits() / params, result.weightedRelError());
    return 0;
  }

  /** The budget mode: format version 2, its stats lines. */
  private static int runBudget(Flags flags, List<String> dirs, BudgetSettings settings, PrintStream out)
      throws Exception {
    FileIO outIo = PathStorage.forPath(dirs.get(1));
    OutputFolderRule.check(
        dirs.get(0), dirs.get(1), outIo, CompressedAdapterWriter.LAYOUT, flags.has("--overwrite"));
    PeftAdapter adapter = PeftAdapterReader.open(PathStorage.forPath(dirs.get(0)), dirs.get(0));
    BudgetCompressionResult result;
    try {
      result = AdapterCompressor.compressBudget(adapter, settings, LinearAlgebra.current());
    } catch (IllegalArgumentException e) {
      // The budget cannot hold this adapter's smallest storable form: the flag's value is wrong for it.
      throw new UsageException("--budget " + flags.requiredString("--budget") + " is too small for "
          + dirs.get(0) + ": " + e.getMessage());
    }
    OwnedFolder.removeStaleStaging(outIo, dirs.get(1));
    CompressedAdapterWriter.write(outIo, dirs.get(1), result.adapter(), result.manifestJson(null));
    if (flags.has("--stats")) {
      List<byte[]> lines = new java.util.ArrayList<>();
      for (BudgetCompressionResult.Layer layer : result.layers()) {
        lines.add(layer.toJson(settings).toString().getBytes(StandardCharsets.UTF_8));
      }
      writeLines(Path.of(flags.requiredString("--stats")), lines);
    }
    long params = result.params();
    out.printf(Locale.ROOT,
        "compressed %s -> %s (budget mode, format version 2): %d LoRA layers, %d params,"
            + " %.3f effective bits per param (budget %s), rel_error %.4f%n",
        dirs.get(0), dirs.get(1), result.layers().size(), params,
        params == 0 ? 0.0 : (double) result.effectiveBits() / params, flags.requiredString("--budget"),
        result.relError());
    return 0;
  }

  private static void writeLines(Path file, List<byte[]> lines) throws Exception {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try (OutputStream os = Files.newOutputStream(file)) {
      for (byte[] line : lines) {
        os.write(line);
        os.write('\n');
      }
    }
  }

  private static void writeStats(Path file, CompressionResult result) throws Exception {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try (OutputStream os = Files.newOutputStream(file)) {
      for (LayerReport layer : result.layers()) {
        os.write(LayerReportJson.toStatsLine(layer, result.settings()).toString().getBytes(StandardCharsets.UTF_8));
        os.write('\n');
      }
    }
  }
}
