package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.LocalFileIO;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.testing.SharedAdapters;

/**
 * The fleet scope over the real adapters of {@code ../shared/adapters/real} as one fleet, read
 * with the project's PEFT reader, tables measured as the budget mode measures them (Lloyd-Max,
 * group 128). Adapters whose smallest storable form alone needs more than {@link #BUDGET} bits per
 * parameter (a few hundred parameters, where the side information dominates) are left out: the
 * adapter scope could not compress them at this budget to compare with.
 */
class FleetRealAdaptersTest {
  private static final double BUDGET = 1.4;

  private static List<FleetLayer> realFleet() throws IOException {
    LinearAlgebra linalg = LinearAlgebra.javaOnly();
    List<FleetLayer> fleet = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(SharedAdapters.folder())) {
      for (Path dir : (Iterable<Path>) dirs.sorted()::iterator) {
        if (!Files.isDirectory(dir)) {
          continue;
        }
        PeftAdapter adapter;
        try {
          adapter = PeftAdapterReader.open(new LocalFileIO(), dir.toString());
        } catch (InvalidAdapterException e) {
          continue; // the folder's negative cases (not LoRA, broken on purpose)
        }
        List<FleetLayer> layers = new ArrayList<>();
        long params = 0;
        long minimum = 0;
        for (LoraModule module : adapter.modules()) {
          FleetLayer l = FleetLayer.measure(dir.getFileName().toString(), module.module(),
              PeftAdapterReader.readFactors(adapter, module), LevelFamily.LLOYD_MAX, 128, linalg);
          layers.add(l);
          params += l.params();
          minimum += l.minimumBits();
        }
        if (!layers.isEmpty() && minimum <= Math.floor(BUDGET * params)) {
          fleet.addAll(layers);
        }
      }
    }
    return fleet;
  }

  @Test
  void theFleetScopeBeatsTheAdapterScopeAtTheSameBitsAndMeetsItsBudget() throws IOException {
    List<FleetLayer> fleet = realFleet();
    assertThat(FleetScopeComparison.byAdapter(fleet)).hasSizeGreaterThanOrEqualTo(18);
    long params = 0;
    for (FleetLayer l : fleet) {
      params += l.params();
    }
    long budget = (long) Math.floor(BUDGET * params);
    for (FleetWeight weight : FleetWeight.values()) {
      FleetAllocation a = FleetAllocator.allocate(FleetAllocator.weighted(fleet, weight), budget);
      assertThat(a.spentBits()).as("%s", weight).isLessThanOrEqualTo(budget)
          .isGreaterThanOrEqualTo((long) (0.995 * budget));
    }

    FleetScopeComparison.Outcome perAdapter = FleetScopeComparison.adapterScope(fleet, BUDGET);
    FleetScopeComparison.Outcome pooled = FleetScopeComparison.fleetScope(fleet,
        FleetAllocator.allocate(fleet, perAdapter.bits()));
    assertThat(pooled.bits()).isLessThanOrEqualTo(perAdapter.bits());
    // Measured: 0.2% of the adapter scope's pooled error; one adapter's update dominates the
    // fleet's energy, and pooling gives it the bits.
    assertThat(pooled.pooledError()).isLessThan(0.01 * perAdapter.pooledError());

    List<FleetLayer> weighted = FleetAllocator.weighted(fleet, FleetWeight.ADAPTER);
    FleetScopeComparison.Outcome byAdapter = FleetScopeComparison.fleetScope(weighted,
        FleetAllocator.allocate(weighted, perAdapter.bits()));
    // Measured: 1.07 against 1.78 (adapter scope) and 5.00 (weight energy). Not met: each adapter
    // within 10% of its own scope; the worst (smollm-360m-nested-qv-r8) ends 5.5x above it.
    assertThat(byAdapter.sumOfRelativeErrors()).isLessThan(0.7 * perAdapter.sumOfRelativeErrors())
        .isLessThan(pooled.sumOfRelativeErrors());
  }
}
