package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.loraquant.linalg.LinearAlgebra;

/** The budget mode on every real adapter with LoRA layers (issue 18's checks on stored layers). */
class BudgetCodecRealAdaptersTest {
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();

  @Test
  void storedLayersHaveTheErrorTheStatsSayAndTheBudgetAndGuardHold() throws IOException {
    Path root = RealAdapterFixture.adaptersRoot();
    int adapters = 0;
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
        double budget = Math.max(1.4, BudgetCodec.smallestBudget(layers, LevelFamily.LLOYD_MAX, 128));
        if (layers.isEmpty() || budget > BudgetSettings.MAX_BUDGET_BITS) {
          continue;
        }
        List<BudgetLayerResult> results = BudgetCodec.compress(layers, BudgetSettings.of(budget), LINALG);
        long stored = 0;
        long params = 0;
        for (int l = 0; l < layers.size(); l++) {
          BudgetLayerResult r = results.get(l);
          double decoded = FactorGramError.relative(layers.get(l), r.decode());
          assertThat(r.stats().relError()).as("%s layer %d", dir.getFileName(), l)
              .isCloseTo(decoded, within(1e-6 + 1e-6 * decoded));
          assertThat(r.stats().kept()).as("%s layer %d dropped whole", dir.getFileName(), l)
              .isPositive();
          stored += r.stats().storedBits();
          params += r.stats().params();
        }
        assertThat(stored).as("%s", dir.getFileName())
            .isLessThanOrEqualTo((long) Math.floor(budget * params));
        adapters++;
      }
    }
    assertThat(adapters).isGreaterThanOrEqualTo(20);
  }
}
