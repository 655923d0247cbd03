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
 * Prints markdown. Argument: the adapters folder (default ../shared/adapters/real); optional
 * {@code --ablations} adds the median of variants (uniform levels, no refit, scope layer).
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
    boolean ablations = Arrays.asList(args).contains("--ablations");
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
        names.add(dir.getFileName().toString() + (raised ? " (*)" : ""));
        System.err.println("done " + dir.getFileName());
        rows.add(row);
      }
    }
    System.out.println("| adapter | paper 2@0.8 bits | error | budget bits | error | paper 3@0.9 bits"
        + " | error | budget bits | error |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    for (int a = 0; a < names.size(); a++) {
      double[] r = rows.get(a);
      System.out.println(String.format(Locale.ROOT,
          "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |", names.get(a), r[0],
          r[1], r[2], r[3], r[4], r[5], r[6], r[7]));
    }
    System.out.println(String.format(Locale.ROOT,
        "| **median** (%d adapters) | %.3f | **%.3f** | %.3f | **%.3f** | %.3f | **%.3f** | %.3f | **%.3f** |",
        names.size(), median(rows, 0), median(rows, 1), median(rows, 2), median(rows, 3),
        median(rows, 4), median(rows, 5), median(rows, 6), median(rows, 7)));
    System.out.println();
    System.out.println(String.format(Locale.ROOT,
        "median error lower by %.1f%% at 2@0.8 and %.1f%% at 3@0.9; layers dropped whole: %d and %d",
        100 * (1 - median(rows, 3) / median(rows, 1)), 100 * (1 - median(rows, 7) / median(rows, 5)),
        (long) sum(rows, 8), (long) sum(rows, 9)));
    System.out.println("(*) budget raised to the smallest storable form, above the paper mode's bits");
    System.out.println("skipped, side information above 16 bits per parameter: " + skipped);
    if (ablations) {
      System.out.println(String.format(Locale.ROOT,
          "at 2@0.8's bits, median error: uniform levels %.3f, no refit %.3f, scope layer %.3f"
          + " (NaN where a layer's side information exceeds its own budget)",
          median(rows, 10), median(rows, 11), median(rows, 12)));
    }
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
