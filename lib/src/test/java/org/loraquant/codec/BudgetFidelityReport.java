package org.loraquant.codec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.loraquant.linalg.LinearAlgebra;

/**
 * Test-side tool behind the budget-mode figures of docs/FIDELITY.md: on every real adapter with a
 * non-zero update, the paper mode (reference split, no refinement) at 2 bits / rho 0.8 and
 * 3 bits / rho 0.9, and the budget mode at each adapter's paper-mode effective bits. An adapter's
 * error is ||dW - dW^||_F / ||dW||_F over all its layers stacked (the square root of the summed
 * squared errors over the summed squared norms), the quantity the adapter scope minimises.
 * Run by {@code bin/bench-fidelity}, which regenerates docs/FIDELITY.md and docs/fidelity.png.
 * Arguments: the adapters folder (default ../shared/adapters/real); {@code --ablations} adds the
 * median of variants (uniform levels, no refit, scope layer); {@code --out FILE} writes the
 * markdown there instead of stdout; {@code --curve CSV} adds the fleet's curves of median error
 * against median effective bits (paper over rho and bits, budget over 0.5..3 bits) and writes
 * their points to CSV for the plot.
 */
public final class BudgetFidelityReport {
  private BudgetFidelityReport() {}

  /** Summed squared error, summed squared norm and stored bits and parameters of one adapter. */
  record Totals(double squaredError, double energy, long storedBits, long params, int dropped) {
    double error() {
      return energy == 0 ? 0 : Math.sqrt(squaredError / energy);
    }

    double bits() {
      return (double) storedBits / params;
    }
  }

  public static void main(String[] args) throws IOException {
    Path root = Path.of(args.length > 0 && !args[0].startsWith("--") ? args[0]
        : "../shared/adapters/real");
    List<String> argList = Arrays.asList(args);
    boolean ablations = argList.contains("--ablations");
    Path out = argList.contains("--out") ? Path.of(argList.get(argList.indexOf("--out") + 1)) : null;
    Path curve = argList.contains("--curve") ? Path.of(argList.get(argList.indexOf("--curve") + 1)) : null;
    java.io.StringWriter text = new java.io.StringWriter();
    java.io.PrintWriter md = new java.io.PrintWriter(text);
    List<List<LoraFactors>> fleet = new ArrayList<>();
    LinearAlgebra linalg = LinearAlgebra.current();
    List<String> names = new ArrayList<>();
    List<double[]> rows = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(root)) {
      for (Path dir : (Iterable<Path>) dirs.sorted()::iterator) {
        Path file = dir.resolve("adapter_model.safetensors");
        if (!Files.isRegularFile(file)) {
          continue;
        }
        List<LoraFactors> layers = new ArrayList<>();
        for (RealAdapterFixture.Layer l : RealAdapterFixture.load(dir.getFileName().toString(), file)) {
          layers.add(l.factors());
        }
        Totals paper2 = paper(layers, 0.8, 2, linalg);
        if (layers.isEmpty() || paper2.energy() == 0) {
          continue;
        }
        Totals paper3 = paper(layers, 0.9, 3, linalg);
        if (paper3.bits() > BudgetSettings.MAX_BUDGET_BITS) {
          // Side information dominates (e.g. 176 parameters in 12 layers): no budget to compare.
          skipped.add(dir.getFileName().toString() + String.format(Locale.ROOT,
              " (paper mode %.1f / %.1f bits)", paper2.bits(), paper3.bits()));
          continue;
        }
        // A budget below the smallest storable form (rank-1 layers: v2's side information is a few
        // bytes larger than v1's) is raised to it, and the row is marked.
        double smallest = BudgetCodec.smallestBudget(layers, LevelFamily.LLOYD_MAX, 128);
        boolean raised = smallest > paper2.bits();
        Totals budget2 = budget(layers, BudgetSettings.of(Math.max(smallest, paper2.bits())), linalg);
        Totals budget3 = budget(layers, BudgetSettings.of(Math.max(smallest, paper3.bits())), linalg);
        double[] row = {paper2.bits(), paper2.error(), budget2.bits(), budget2.error(),
            paper3.bits(), paper3.error(), budget3.bits(), budget3.error(), budget2.dropped(),
            budget3.dropped(), 0, 0, 0};
        if (ablations) {
          BudgetSettings at2 = BudgetSettings.of(Math.max(smallest, paper2.bits()));
          row[10] = budgetOrNaN(layers, at2.withLevels(LevelFamily.UNIFORM), linalg);
          row[11] = budget(layers, at2.withRefit(0), linalg).error();
          row[12] = budgetOrNaN(layers, at2.withScope(BudgetScope.LAYER), linalg);
        }
        fleet.add(layers);
        names.add(dir.getFileName().toString() + (raised ? " (*)" : ""));
        System.err.println("measured " + dir.getFileName());
        rows.add(row);
      }
    }
    md.println(HEADER.replace("@DATE@", java.time.LocalDate.now().toString()));
    md.println("| adapter | paper 2@0.8 bits | error | budget bits | error | paper 3@0.9 bits"
        + " | error | budget bits | error |");
    md.println("|---|---|---|---|---|---|---|---|---|");
    for (int a = 0; a < names.size(); a++) {
      double[] r = rows.get(a);
      md.println(String.format(Locale.ROOT,
          "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |", names.get(a), r[0],
          r[1], r[2], r[3], r[4], r[5], r[6], r[7]));
    }
    md.println(String.format(Locale.ROOT,
        "| **median** (%d adapters) | %.3f | **%.3f** | %.3f | **%.3f** | %.3f | **%.3f** | %.3f | **%.3f** |",
        names.size(), median(rows, 0), median(rows, 1), median(rows, 2), median(rows, 3),
        median(rows, 4), median(rows, 5), median(rows, 6), median(rows, 7)));
    md.println();
    md.println(String.format(Locale.ROOT,
        "- median error lower by %.1f%% at 2@0.8 and %.1f%% at 3@0.9; layers dropped whole: %d and %d",
        100 * (1 - median(rows, 3) / median(rows, 1)), 100 * (1 - median(rows, 7) / median(rows, 5)),
        (long) sum(rows, 8), (long) sum(rows, 9)));
    md.println("- (*): budget raised to the smallest storable form, above the paper mode's bits");
    md.println("- skipped, side information above 16 bits per parameter: " + skipped);
    if (ablations) {
      md.println();
      md.println("Where the gain comes from, at the 2@0.8 bits (median error; NaN where a layer's side"
          + " information exceeds its own budget):");
      md.println();
      md.println("| variant | median error |");
      md.println("|---|---|");
      md.println(String.format(Locale.ROOT, "| budget mode, defaults | %.3f |", median(rows, 3)));
      md.println(String.format(Locale.ROOT, "| uniform levels instead of Lloyd-Max | %.3f |", median(rows, 10)));
      md.println(String.format(Locale.ROOT, "| no refit (`refit 0`) | %.3f |", median(rows, 11)));
      md.println(String.format(Locale.ROOT, "| scope `layer` instead of `adapter` | %.3f |", median(rows, 12)));
      md.println(String.format(Locale.ROOT, "| paper mode | %.3f |", median(rows, 1)));
    }
    double lower2 = 100 * (1 - median(rows, 3) / median(rows, 1));
    double lower3 = 100 * (1 - median(rows, 7) / median(rows, 5));
    boolean neverMore = true;
    for (double[] r : rows) {
      neverMore &= r[2] <= r[0] || names.get(rows.indexOf(r)).endsWith("(*)");
      neverMore &= r[6] <= r[4] || names.get(rows.indexOf(r)).endsWith("(*)");
    }
    md.println();
    md.println("Targets of issue 18:");
    md.println();
    md.println(String.format(Locale.ROOT, "- median error at least 50%% lower at 2@0.8: %.1f%% lower (%s)",
        lower2, lower2 >= 50 ? "met" : "NOT met"));
    md.println(String.format(Locale.ROOT, "- median error at least 33%% lower at 3@0.9: %.1f%% lower (%s)",
        lower3, lower3 >= 33 ? "met" : "NOT met"));
    md.println("- never more effective bits than the paper mode (apart from rows marked (*)): "
        + (neverMore ? "met" : "NOT met"));
    md.println(String.format(Locale.ROOT, "- no layer dropped whole: %d layers dropped (%s)",
        (long) (sum(rows, 8) + sum(rows, 9)), sum(rows, 8) + sum(rows, 9) == 0 ? "met" : "NOT met"));
    if (curve != null) {
      md.println();
      md.println(curve(fleet, linalg, curve));
    }
    md.flush();
    if (out != null) {
      Files.writeString(out, text.toString());
    } else {
      System.out.print(text);
    }
  }

  /** Markdown before the table: what is compared and how to regenerate it. */
  private static final String HEADER = """
      # Fidelity: paper mode and budget mode on the real adapters

      Generated by `bin/bench-fidelity` (@DATE@; do not edit by hand). It runs
      `BudgetFidelityReport` (lib, test side) on `../shared/adapters/real` and draws
      `docs/fidelity.png` from the curve points it writes.

      ## What is compared
      On every adapter of `../shared/adapters/real` with a non-zero update:

      - **paper**: the paper mode with the reference split rule and no refinement, at 2 bits / rho 0.8
        and at 3 bits / rho 0.9 (`CodecSettings` with `SplitRule.REFERENCE`, group 128);
      - **budget**: the budget mode with its defaults (scope `adapter`, Lloyd-Max levels, 2 refit
        steps, group 128) at a budget equal to that adapter's paper-mode effective bits.

      An adapter's error is ||dW - dW^||_F / ||dW||_F over all its layers together: the square root
      of the summed squared errors of its layers over the summed squared norms of their updates (the
      quantity scope `adapter` minimises). Effective bits are every stored bit over r (m + n), summed
      over the adapter's layers; both modes count the paper mode's 64-byte header allowance per
      layer, and the budget mode in addition its level-family byte, a 4-byte CRC and one width-map
      byte per component.

      ## Command
      ```
      bin/bench-fidelity            # about 5 minutes on 2 cores; rewrites docs/FIDELITY.md and docs/fidelity.png
      ```

      ## Results
      """;

  /**
   * The fleet's curves of median error against median effective bits: the paper mode over rho
   * and bits, the budget mode over 0.5..3 bits (each adapter at least at its smallest storable
   * budget). Writes them to {@code csv} (series, setting, bits, error) and returns markdown.
   */
  private static String curve(List<List<LoraFactors>> fleet, LinearAlgebra linalg, Path csv)
      throws IOException {
    StringBuilder lines = new StringBuilder("series,setting,median_bits,median_error\n");
    StringBuilder table = new StringBuilder(
        "## Error against effective bits\n\n![median error against median effective bits](fidelity.png)\n\n"
        + "| series | setting | median bits | median error |\n|---|---|---|---|\n");
    for (int bits : new int[] {2, 3}) {
      for (double rho : new double[] {0.5, 0.6, 0.7, 0.8, 0.9, 0.95}) {
        List<double[]> points = new ArrayList<>();
        for (List<LoraFactors> layers : fleet) {
          Totals t = paper(layers, rho, bits, linalg);
          points.add(new double[] {t.bits(), t.error()});
        }
        String setting = bits + "@" + rho;
        addPoint(lines, table, "paper " + bits + " bits", setting, points);
      }
    }
    for (double budget = 0.5; budget <= 3.0001; budget += 0.25) {
      List<double[]> points = new ArrayList<>();
      for (List<LoraFactors> layers : fleet) {
        Totals t = budget(layers, BudgetSettings.of(atLeastSmallest(layers, budget)), linalg);
        points.add(new double[] {t.bits(), t.error()});
      }
      addPoint(lines, table, "budget", String.format(Locale.ROOT, "%.2f", budget), points);
    }
    Files.writeString(csv, lines);
    return table.toString();
  }

  /**
   * {@code bits}, raised to the adapter's smallest storable budget where it is below (with a hair
   * more, so that flooring the budget to whole bits cannot fall one bit short of it).
   */
  private static double atLeastSmallest(List<LoraFactors> layers, double bits) {
    double smallest = BudgetCodec.smallestBudget(layers, LevelFamily.LLOYD_MAX, 128);
    return bits >= smallest ? bits : smallest * (1 + 1e-9);
  }

  private static void addPoint(StringBuilder csv, StringBuilder table, String series, String setting,
      List<double[]> points) {
    double bits = median(points, 0);
    double error = median(points, 1);
    csv.append(String.format(Locale.ROOT, "%s,%s,%.4f,%.4f%n", series, setting, bits, error));
    table.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %.3f |%n", series, setting, bits, error));
  }

  static Totals paper(List<LoraFactors> layers, double rho, int bits, LinearAlgebra linalg) {
    CodecSettings settings = CodecSettings.defaults().withRho(rho).withBitsHigh(bits)
        .withSplitRule(SplitRule.REFERENCE);
    double squaredError = 0;
    double energy = 0;
    long stored = 0;
    long params = 0;
    for (LoraFactors f : layers) {
      LayerStats s = LoraQuantCodec.compress(f, settings, linalg).stats();
      double e = 0;
      for (float v : s.singularValues()) {
        e += (double) v * v;
      }
      squaredError += s.relError() * s.relError() * e;
      energy += e;
      stored += s.effectiveBits();
      params += s.params();
    }
    return new Totals(squaredError, energy, stored, params, 0);
  }

  static Totals budget(List<LoraFactors> layers, BudgetSettings settings, LinearAlgebra linalg) {
    double squaredError = 0;
    double energy = 0;
    long stored = 0;
    long params = 0;
    int dropped = 0;
    for (BudgetLayerResult r : BudgetCodec.compress(layers, settings, linalg)) {
      squaredError += r.stats().squaredError();
      energy += r.stats().energy();
      stored += r.stats().storedBits();
      params += r.stats().params();
      dropped += r.stats().kept() == 0 ? 1 : 0;
    }
    return new Totals(squaredError, energy, stored, params, dropped);
  }

  private static double budgetOrNaN(List<LoraFactors> layers, BudgetSettings settings,
      LinearAlgebra linalg) {
    try {
      return budget(layers, settings, linalg).error();
    } catch (IllegalArgumentException e) {
      return Double.NaN;
    }
  }

  private static double median(List<double[]> rows, int column) {
    double[] v = rows.stream().mapToDouble(r -> r[column]).filter(x -> !Double.isNaN(x)).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    return v.length % 2 == 1 ? v[v.length / 2] : 0.5 * (v[v.length / 2 - 1] + v[v.length / 2]);
  }

  private static double sum(List<double[]> rows, int column) {
    return rows.stream().mapToDouble(r -> r[column]).sum();
  }
}
