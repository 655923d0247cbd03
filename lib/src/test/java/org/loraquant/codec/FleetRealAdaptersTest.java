package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.format.BudgetLayerLayout;
import org.loraquant.io.LocalFileIO;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.testing.SharedAdapters;

/**
 * The fleet scope over the real adapters of {@code ../shared/adapters/real} as one fleet, read
 * with the project's PEFT reader, tables measured as the budget mode measures them (Lloyd-Max,
 * group 128). Adapters that the adapter scope refuses at {@link #BUDGET} bits per parameter (a few
 * hundred parameters, where the side information dominates) are left out: they have no
 * adapter-scope error to compare with.
 */
class FleetRealAdaptersTest {
  private static final double BUDGET = 1.4;
  private static final int GROUP = 128;
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();

  /** The fleet's layers and, by {@link FleetLayer#key}, their factors. */
  private static List<FleetLayer> fleet;
  private static Map<String, LoraFactors> factors;

  @BeforeAll
  static void readTheRealFleet() throws IOException {
    fleet = new ArrayList<>();
    factors = new LinkedHashMap<>();
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
        String name = dir.getFileName().toString();
        List<FleetLayer> layers = new ArrayList<>();
        Map<String, LoraFactors> read = new LinkedHashMap<>();
        for (LoraModule module : adapter.modules()) {
          LoraFactors f = PeftAdapterReader.readFactors(adapter, module);
          FleetLayer l = FleetLayer.measure(name, module.module(), f, LevelFamily.LLOYD_MAX,
              GROUP, LINALG);
          layers.add(l);
          read.put(l.key(), f);
        }
        if (!layers.isEmpty()
            && Double.isFinite(FleetAdapterScope.of(name, layers, BUDGET).error())) {
          fleet.addAll(layers);
          factors.putAll(read);
        }
      }
    }
  }

  private static long budget() {
    return (long) Math.floor(BUDGET * fleet.stream().mapToLong(FleetLayer::params).sum());
  }

  @Test
  void theFleetScopeBeatsTheAdapterScopeAtTheSameBitsAndMeetsItsBudget() {
    assertThat(FleetScopeComparison.byAdapter(fleet)).hasSizeGreaterThanOrEqualTo(18);
    long budget = budget();
    for (FleetWeight weight : FleetWeight.values()) {
      FleetAllocation a = FleetAllocator.allocate(LocalFleet.of(FleetAllocator.weighted(fleet,
          weight)), budget, weight, BUDGET);
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
  }

  /**
   * Weight {@code adapter} at the same stored bits as the adapter scope: no adapter above 1.10x
   * its own adapter-scope error (without the cap the worst, smollm-360m-nested-qv-r8, ended 5.5x
   * above it), and the sum of the relative errors still well below the adapter scope's.
   */
  @Test
  void adapterWeightKeepsEveryRealAdapterWithinTenPercentOfItsOwnScope() {
    FleetScopeComparison.Outcome perAdapter = FleetScopeComparison.adapterScope(fleet, BUDGET);
    List<FleetLayer> weighted = FleetAllocator.weighted(fleet, FleetWeight.ADAPTER);
    FleetAllocation a = FleetAllocator.allocate(LocalFleet.of(weighted), perAdapter.bits(),
        FleetWeight.ADAPTER, BUDGET);
    FleetScopeComparison.Outcome byAdapter = FleetScopeComparison.fleetScope(weighted, a);
    assertThat(byAdapter.bits()).isLessThanOrEqualTo(perAdapter.bits());
    for (String adapter : perAdapter.byAdapter().keySet()) {
      assertThat(byAdapter.byAdapter().get(adapter)[0]).as(adapter)
          .isLessThanOrEqualTo(1.10 * perAdapter.byAdapter().get(adapter)[0]);
    }
    assertThat(byAdapter.sumOfRelativeErrors()).isLessThan(0.8 * perAdapter.sumOfRelativeErrors());
  }

  /**
   * Every layer encoded at its allocated widths stores exactly the bits the allocation counted,
   * so the files hold the allocation's count: within 0.5% under the budget.
   */
  @Test
  void theEncodedLayersStoreTheAllocatedBitsWithinHalfAPercentUnderTheBudget() {
    long budget = budget();
    // Weight adapter: the cap's raised factors are part of the widths. No refit: it changes the
    // values stored, not their bits.
    FleetWeight weight = FleetWeight.ADAPTER;
    List<FleetLayer> layers = FleetAllocator.weighted(fleet, weight);
    FleetAllocation a = FleetAllocator.allocate(LocalFleet.of(layers), budget, weight, BUDGET);
    assertThat(a.factors()).isNotEmpty();
    BudgetSettings settings = BudgetSettings.of(BUDGET).withScope(BudgetScope.FLEET)
        .withGroupSize(GROUP).withWeight(weight).withRefit(0);
    long stored = 0;
    for (FleetLayer l : layers) {
      LoraFactors f = factors.get(l.key());
      int[] widths = a.widths(l);
      BudgetLayerResult r = BudgetCodec.encode(f, l.table(), widths, settings, LINALG);
      long bits = 8 * BudgetLayerLayout.storedBytes(l.module(), r.layer());
      assertThat(bits).as("%s %s", weight, l).isEqualTo(l.storedBits(widths));
      stored += bits;
    }
    assertThat(stored).as("%s", weight).isEqualTo(a.spentBits()).isLessThanOrEqualTo(budget)
        .isGreaterThanOrEqualTo((long) Math.ceil(0.995 * budget));
  }
}
