package org.loraquant.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ludovic.netlib.blas.BLAS;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.loraquant.codec.LoraFactors;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.LocalFileIO;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;

/**
 * The fleet's error of compressed outputs of one local fleet, for {@code bin/bench-job fleet}:
 * the budget's scopes side by side at the bits each achieved. Usage: {@code FleetError FLEET_DIR
 * OUTPUT_DIR...}.
 *
 * <p>Per layer it takes the stored bits ({@code effective_bits}), parameters and relative error
 * from each output's manifest (the stats sidecar, which is what the stats table records; the
 * budget tests check that it is the error of the stored layer) and computes ||B A||_F^2 of the
 * input layer once, from the r x r Grams (||B A||^2 = sum_ij (B^T B)_ij (A A^T)_ij), without the
 * PEFT scaling lora_alpha / r, as the fleet allocator weights layers. Prints per output:
 *
 * <ul>
 *   <li>{@code bits_per_param}: stored tensor bits over parameters, over every layer;
 *   <li>{@code pooled_rel_error}: the fleet-pooled error sqrt(sum ||E||^2 / sum ||B A||^2), what
 *       {@code --budget-weight energy} minimises;
 *   <li>{@code param_weighted_rel_error}: sum params * rel_error / sum params (the stats' figure);
 *   <li>{@code adapter_error_sum}, {@code _median}, {@code _max}: over adapters of each adapter's
 *       own pooled error (the sum is what {@code --budget-weight adapter} minimises, squared);
 * </ul>
 *
 * then one line per adapter with its bits and error in each output.
 */
public final class FleetError {
  private FleetError() {}

  /** One layer of one output: what its manifest entry says. */
  private record Stored(long bits, long params, double relError) {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      throw new IllegalArgumentException("usage: FleetError FLEET_DIR OUTPUT_DIR...");
    }
    Path fleet = Path.of(args[0]);
    List<Path> outputs = Arrays.stream(args).skip(1).map(Path::of).toList();
    List<String> adapters = adapters(fleet);
    Map<String, Map<String, Double>> energy = new TreeMap<>();
    BLAS blas = LinearAlgebra.current().blas();
    LocalFileIO io = new LocalFileIO();
    for (String adapter : adapters) {
      PeftAdapter peft = PeftAdapterReader.open(io, fleet.resolve(adapter).toString());
      Map<String, Double> layers = new HashMap<>();
      for (LoraModule module : peft.modules()) {
        layers.put(module.module(), energy(blas, PeftAdapterReader.readFactors(peft, module)));
      }
      energy.put(adapter, layers);
    }
    ObjectMapper json = new ObjectMapper();
    List<Map<String, double[]>> perAdapter = new ArrayList<>();
    for (Path output : outputs) {
      Map<String, double[]> figures = new TreeMap<>(); // adapter -> bits, params, err2, norm2
      double weightedError = 0;
      for (String adapter : adapters) {
        Path manifest = output.resolve(adapter).resolve(CompressedFormat.MANIFEST_FILE);
        Map<String, Stored> stored = stored(json, manifest);
        if (!stored.keySet().equals(energy.get(adapter).keySet())) {
          throw new IllegalStateException(manifest + ": layers " + stored.keySet()
              + " are not the input's " + energy.get(adapter).keySet());
        }
        double[] f = new double[4];
        for (Map.Entry<String, Stored> layer : stored.entrySet()) {
          Stored s = layer.getValue();
          double norm2 = energy.get(adapter).get(layer.getKey());
          f[0] += s.bits();
          f[1] += s.params();
          f[2] += s.relError() * s.relError() * norm2;
          f[3] += norm2;
          weightedError += s.params() * s.relError();
        }
        figures.put(adapter, f);
      }
      perAdapter.add(figures);
      double bits = 0;
      double params = 0;
      double err2 = 0;
      double norm2 = 0;
      double[] adapterErrors = new double[figures.size()];
      int i = 0;
      for (double[] f : figures.values()) {
        bits += f[0];
        params += f[1];
        err2 += f[2];
        norm2 += f[3];
        adapterErrors[i++] = Math.sqrt(f[2] / f[3]);
      }
      Arrays.sort(adapterErrors);
      System.out.printf(Locale.ROOT,
          "fleet-error %s adapters=%d params=%.0f bits_per_param=%.4f pooled_rel_error=%.4f"
              + " param_weighted_rel_error=%.4f adapter_error_sum=%.4f adapter_error_median=%.4f"
              + " adapter_error_max=%.4f%n",
          output, figures.size(), params, bits / params, Math.sqrt(err2 / norm2),
          weightedError / params, Arrays.stream(adapterErrors).sum(),
          adapterErrors[(adapterErrors.length - 1) / 2], adapterErrors[adapterErrors.length - 1]);
    }
    double fleetNorm2 = 0;
    for (double[] f : perAdapter.get(0).values()) {
      fleetNorm2 += f[3];
    }
    StringBuilder header = new StringBuilder("adapter params energy_share");
    for (int o = 0; o < outputs.size(); o++) {
      header.append(" bits_").append(o + 1).append(" error_").append(o + 1);
    }
    System.out.println(header);
    for (String adapter : adapters) {
      double[] first = perAdapter.get(0).get(adapter);
      StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s %.0f %.4f",
          adapter, first[1], first[3] / fleetNorm2));
      for (Map<String, double[]> figures : perAdapter) {
        double[] f = figures.get(adapter);
        line.append(String.format(Locale.ROOT, " %.4f %.4f", f[0] / f[1], Math.sqrt(f[2] / f[3])));
      }
      System.out.println(line);
    }
  }

  /** Adapter folders under the fleet (relative paths), as the job finds them: by their config. */
  private static List<String> adapters(Path fleet) throws IOException {
    try (Stream<Path> files = Files.walk(fleet)) {
      return files
          .filter(p -> p.getFileName().toString().equals("adapter_config.json"))
          .map(p -> fleet.relativize(p.getParent()).toString())
          .filter(p -> !p.startsWith(".") && !p.contains("/."))
          .sorted()
          .toList();
    }
  }

  private static Map<String, Stored> stored(ObjectMapper json, Path manifest) throws IOException {
    Map<String, Stored> layers = new HashMap<>();
    for (JsonNode layer : json.readTree(manifest.toFile()).path("layers")) {
      layers.put(layer.path("module").asText(), new Stored(layer.path("effective_bits").asLong(),
          layer.path("params").asLong(), layer.path("rel_error").asDouble()));
    }
    return layers;
  }

  /** ||B A||_F^2 in double, from the two r x r Grams. */
  static double energy(BLAS blas, LoraFactors f) {
    int r = f.r();
    // B (m x r, row-major) is B^T column-major (r x m, ld r); A (r x n, row-major) is A^T
    // column-major (n x r, ld n).
    double[] bt = toDouble(f.b());
    double[] at = toDouble(f.a());
    double[] gb = new double[r * r];
    double[] ga = new double[r * r];
    blas.dgemm("N", "T", r, r, f.m(), 1.0, bt, r, bt, r, 0.0, gb, r);
    blas.dgemm("T", "N", r, r, f.n(), 1.0, at, f.n(), at, f.n(), 0.0, ga, r);
    double sum = 0;
    for (int i = 0; i < gb.length; i++) {
      sum += gb[i] * ga[i];
    }
    return Math.max(0, sum);
  }

  private static double[] toDouble(float[] x) {
    double[] d = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      d[i] = x[i];
    }
    return d;
  }
}
