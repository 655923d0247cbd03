package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.loraquant.linalg.GramFactoredSvd;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.linalg.SkinnyProducts;

/**
 * The budget mode takes its decomposition inputs, balanced factors, reconstruction and refit
 * arrays from the per-thread {@link CodecWorkspace}, which arrives holding another layer's
 * numbers: what it encodes must be byte for byte what a fresh thread (fresh, zeroed arrays)
 * encodes, whatever the workspace held and whichever layers of other shapes went before.
 */
class BudgetCodecWorkspaceTest {
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();

  /**
   * Shapes in an order that grows and shrinks the arrays, by both decomposition routes (the Gram
   * route from {@link GramFactoredSvd#DEFAULT_MIN_ROWS} rows and columns), the first one twice
   * (in scope adapter both are held at once, each in arrays of its own); dropped components
   * under low budgets.
   */
  private static List<LoraFactors> layers() {
    return List.of(TestFactors.decaying(11, 300, 280, 8), TestFactors.decaying(12, 64, 700, 16),
        TestFactors.gaussian(13, 129, 257, 5), TestFactors.decaying(14, 600, 300, 12),
        TestFactors.decaying(16, 300, 280, 8), TestFactors.decaying(15, 230, 150, 6));
  }

  @ParameterizedTest
  @CsvSource({"LLOYD_MAX, LAYER, 3, 0.9", "LLOYD_MAX, ADAPTER, 4, 0.6", "UNIFORM, LAYER, 4, 1.2",
      "UNIFORM, ADAPTER, 2, 2.5"})
  void aReusedOrPoisonedWorkspaceEncodesWhatAFreshOneDoes(LevelFamily levels, BudgetScope scope,
      int refit, double budget) {
    BudgetSettings settings = BudgetSettings.of(budget).withLevels(levels).withScope(scope)
        .withRefit(refit);
    List<LoraFactors> layers = layers();
    // Each layer alone on a fresh thread (scope layer), or the adapter on a fresh thread.
    List<byte[]> fresh = new ArrayList<>();
    if (scope == BudgetScope.LAYER) {
      for (LoraFactors f : layers) {
        fresh.addAll(onFreshThread(() -> outputs(BudgetCodec.compress(List.of(f), settings,
            LINALG))));
      }
    } else {
      fresh.addAll(onFreshThread(() -> outputs(BudgetCodec.compress(layers, settings, LINALG))));
    }

    List<byte[]> reused = onFreshThread(() -> {
      // Another adapter first, then every budget-mode array poisoned with NaN, larger than any
      // layer below needs (arrays only grow, so the codec gets these very arrays back).
      BudgetCodec.compress(List.of(TestFactors.decaying(99, 700, 650, 20)), settings, LINALG);
      poison(CodecWorkspace.forCurrentThread(), 800, 800, 24, layers);
      List<byte[]> out = new ArrayList<>();
      out.addAll(outputs(BudgetCodec.compress(layers, settings, LINALG)));
      // Again, over the arrays the first pass left behind; and each layer's error measured
      // against its own factors (two layers sharing arrays would fail this on the fresh thread
      // too).
      List<BudgetLayerResult> again = BudgetCodec.compress(layers, settings, LINALG);
      for (int l = 0; l < layers.size(); l++) {
        double dense = TestFactors.denseRelativeError(layers.get(l), again.get(l).decode());
        assertThat(again.get(l).stats().relError()).as("layer %d", l)
            .isCloseTo(dense, within(1e-7 + 1e-7 * dense));
      }
      out.addAll(outputs(again));
      return out;
    });

    assertThat(reused).hasSize(2 * fresh.size());
    for (int i = 0; i < reused.size(); i++) {
      assertThat(reused.get(i)).as("output %d", i).isEqualTo(fresh.get(i % fresh.size()));
    }
    assertExercisesDroppedComponentsAndBothRefitSides(layers, settings);
  }

  /** The cases reach what the workspace must get right: zero columns and kept steps of A and B. */
  private static void assertExercisesDroppedComponentsAndBothRefitSides(List<LoraFactors> layers,
      BudgetSettings settings) {
    boolean dropped = false;
    boolean bothSides = false;
    for (BudgetLayerResult r : BudgetCodec.compress(layers, settings, LINALG)) {
      dropped |= r.stats().kept() < r.stats().k();
      bothSides |= r.stats().refitSteps() >= 2;
    }
    assertThat(dropped).as("some component dropped").isTrue();
    assertThat(bothSides).as("some layer kept two refit steps").isTrue();
  }

  /**
   * NaN in every array of the workspace, those the budget mode grows to at most m x n rank k, and
   * spare factor arrays of the lengths these layers' balanced factors take.
   */
  private static void poison(CodecWorkspace work, int m, int n, int k, List<LoraFactors> layers) {
    for (double[] a : List.of(work.bRows(m, k), work.at(n, k), work.bh(m, k), work.ah(n, k),
        work.spareB(m, k), work.spareA(n, k),
        work.fitted(Math.max(m, n), k), work.tableB(m), work.tableA(n))) {
      Arrays.fill(a, Double.NaN);
    }
    List<double[]> spares = new ArrayList<>();
    for (LoraFactors f : layers) {
      int kMax = Math.min(f.r(), Math.min(f.m(), f.n()));
      spares.add(work.factorArray(SkinnyProducts.paddedLength(f.m(), kMax)));
      spares.add(work.factorArray(SkinnyProducts.paddedLength(f.n(), kMax)));
    }
    for (double[] a : spares) {
      Arrays.fill(a, Double.NaN);
      work.giveBack(a);
    }
  }

  /** Per layer: the stored layer's serialized bytes, then its stats but the time. */
  private static List<byte[]> outputs(List<BudgetLayerResult> results) {
    List<byte[]> out = new ArrayList<>();
    for (BudgetLayerResult r : results) {
      BudgetLayerStats s = r.stats();
      out.add(serialized(r.layer()));
      out.add((Arrays.toString(s.widths()) + " " + s.storedBits() + " "
          + Double.doubleToLongBits(s.squaredError()) + " " + Double.doubleToLongBits(s.energy())
          + " " + s.refitSteps()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    return out;
  }

  private static byte[] serialized(Object o) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /** Runs {@code work} on a new thread, which starts with no workspace of its own. */
  private static <T> T onFreshThread(Supplier<T> work) {
    AtomicReference<T> result = new AtomicReference<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        result.set(work.get());
      } catch (Throwable e) {
        failure.set(e);
      }
    });
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    if (failure.get() != null) {
      throw new AssertionError(failure.get());
    }
    return result.get();
  }
}
