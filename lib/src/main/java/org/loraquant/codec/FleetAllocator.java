package org.loraquant.codec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.loraquant.errors.FleetBudgetTooSmallException;

/**
 * Chooses the width of every component of every layer of a fleet under one budget of stored bits
 * (docs/ALGORITHM.md, "Fleet budget"; issue 20): minimise the weighted sum of the components'
 * errors, weight x D_i(w_i) over all layers, with the bits the layers' records store
 * ({@link FleetLayer#storedBits}: exactly what format v2 writes) at most the budget, and each
 * layer's first component at the guard width or more.
 *
 * <p>The allocator only talks to the fleet through {@link FleetPasses}, whose aggregations an
 * engine runs where the layers are; each call here is one pass over the fleet:
 *
 * <ol>
 *   <li>Totals: the smallest storable form (below it the budget is refused) and the largest
 *       weighted error, above twice which every component takes its cheapest width.
 *   <li>Lambda: each pass evaluates {@link #CANDIDATES} multipliers at once and keeps the
 *       interval between the largest that overspends and the smallest that fits; first on a
 *       geometric grid (lambda may be many orders of magnitude below its bound), then evenly,
 *       until the interval cannot be split in doubles or {@link #MAX_EVEN_PASSES} passes. The
 *       smallest lambda that fits is optimal among all allocations spending no more than it.
 *   <li>Leftover: each pass gathers every component's best error cut per extra bit that fits in
 *       the bits left ({@link FleetProposals}, the best {@link #PROPOSALS} of the fleet); the
 *       allocator accepts them best first while they fit, one change per layer per pass (a
 *       proposal's extra bits are exact for it alone), and asks again until nothing is accepted.
 *       The total never exceeds the budget.
 * </ol>
 *
 * A fleet of at most {@link #DRIVER_COMPONENTS} components is collected after step 2 and solved by
 * {@link BitAllocator} where the allocator runs (exact on small problems); step 3 then spends what
 * the codes' padding left.
 *
 * <p>Weight {@code adapter} with the cap ({@link #allocate(FleetPasses, long, FleetWeight,
 * double)}) repeats steps 2 and 3 in rounds with per-adapter factors on the weights, two more
 * passes deciding them: each adapter alone in the adapter scope (once) and each adapter's error
 * (every round).
 *
 * <p>Deterministic: the decisions depend only on sums of longs, exact sums of the adapters'
 * errors and totally ordered proposals, so any split of the layers into partitions gives the same
 * allocation bit for bit.
 */
public final class FleetAllocator {
  /** Multipliers evaluated by one pass: 15 split the interval in 16 (4 bisection steps). */
  static final int CANDIDATES = 15;
  /** Geometric grid: candidate j is the upper bound times 2^(-GEOMETRIC_STEP j). */
  private static final int GEOMETRIC_STEP = 4;
  /** Even passes at most: 16^13 = 2^52, the precision of a double. */
  static final int MAX_EVEN_PASSES = 13;
  /** Proposals kept per leftover pass. */
  static final int PROPOSALS = 4096;
  /**
   * A fleet of at most this many components is solved where the allocator runs, by
   * {@link BitAllocator} (exact search, or its three passes) over its tables: they are a few
   * kilobytes, and the fleet's passes, which are not exact, would gain nothing from the cluster.
   */
  public static final int DRIVER_COMPONENTS = 512;
  /** Leftover passes at most; each accepted change lowers the error, this only bounds rounding. */
  static final int MAX_LEFTOVER_PASSES = 1000;

  /**
   * Weight {@code adapter}'s cap: no adapter's table error above this multiple of its own
   * adapter-scope error ({@link FleetAdapterScope}).
   */
  public static final double ADAPTER_CAP = 1.1;
  /**
   * A capped adapter's factor is raised to aim at this multiple of its own error, a little under
   * {@link #ADAPTER_CAP}, so that the rounds do not creep up on the cap from above.
   */
  static final double ADAPTER_AIM = 1.05;
  /**
   * Even passes of the lambda search in the cap's rounds: the interval split to 16^-4 of the
   * geometric step instead of to the last bit; the leftover passes spend what the coarser lambda
   * leaves. On 45 generated fleets the same rounds, caps and sums as with {@link
   * #MAX_EVEN_PASSES}, in 40% of the passes.
   */
  static final int CAP_EVEN_PASSES = 4;
  /**
   * Rounds of the cap at most; each is one allocation with raised factors. An allocation that
   * reaches it says so ({@link FleetAllocation#overCap}).
   */
  public static final int MAX_CAP_ROUNDS = 60;

  private FleetAllocator() {}

  /** {@link #allocate(FleetPasses, long)} over layers in memory. */
  public static FleetAllocation allocate(List<FleetLayer> layers, long budgetBits) {
    return allocate(LocalFleet.of(layers), budgetBits);
  }

  /**
   * The allocation of the fleet behind {@code passes} within {@code budgetBits} that minimises the
   * weighted sum of the errors, the layers' weights as they are.
   *
   * @throws FleetBudgetTooSmallException if the budget cannot hold the smallest storable form
   */
  public static FleetAllocation allocate(FleetPasses passes, long budgetBits) {
    return allocate(passes, budgetBits, DRIVER_COMPONENTS);
  }

  /** As {@link #allocate(FleetPasses, long)}, solving fleets of up to {@code driverComponents} components on the spot. */
  static FleetAllocation allocate(FleetPasses passes, long budgetBits, int driverComponents) {
    return new Solver(passes, budgetBits, driverComponents).solve(Map.of());
  }

  /**
   * The fleet's allocation for the weight: for {@link FleetWeight#ENERGY} as
   * {@link #allocate(FleetPasses, long)}; for {@link FleetWeight#ADAPTER} also within the cap,
   * every adapter's table error at most {@link #ADAPTER_CAP} times its own adapter-scope error at
   * {@code bitsPerParam} (docs/ALGORITHM.md, "Fleet budget"). The layers behind {@code passes}
   * must carry the weight's factors ({@link #weighted}).
   *
   * @param bitsPerParam B: each adapter's own adapter-scope budget is floor(B x its parameters)
   * @throws FleetBudgetTooSmallException if the budget cannot hold the smallest storable form
   */
  public static FleetAllocation allocate(FleetPasses passes, long budgetBits, FleetWeight weight,
      double bitsPerParam) {
    return allocate(passes, budgetBits, weight, bitsPerParam, DRIVER_COMPONENTS);
  }

  static FleetAllocation allocate(FleetPasses passes, long budgetBits, FleetWeight weight,
      double bitsPerParam, int driverComponents) {
    Solver solver = new Solver(passes, budgetBits, driverComponents);
    if (weight == FleetWeight.ENERGY) {
      return solver.solve(Map.of());
    }
    return capped(passes, solver, bitsPerParam);
  }

  /**
   * Weight {@code adapter} with the cap: allocate, find the adapters above their cap, raise their
   * factors by error / (aim x own error) and allocate again, until every adapter is within its
   * cap. Factors only rise, so a capped adapter keeps the weight that brought it under.
   */
  private static FleetAllocation capped(FleetPasses passes, Solver solver, double bitsPerParam) {
    Map<String, FleetAdapterScope> own = passes.adapterScope(bitsPerParam);
    Map<String, Double> factors = new TreeMap<>();
    for (int round = 0; ; round++) {
      FleetAllocation allocation = solver.solve(factors, CAP_EVEN_PASSES);
      Map<String, Double> errors = passes.adapterErrors(allocation).byAdapter();
      Map<String, Double> raised = new TreeMap<>(factors);
      // Error over cap of every adapter above its cap.
      Map<String, Double> overCap = new TreeMap<>();
      for (Map.Entry<String, Double> e : errors.entrySet()) {
        double cap = cap(own.get(e.getKey()));
        if (e.getValue() > cap) {
          raised.put(e.getKey(), FleetAllocation.factor(factors, e.getKey()) * e.getValue()
              / (cap * (ADAPTER_AIM / ADAPTER_CAP)));
          overCap.put(e.getKey(), e.getValue() / cap);
        }
      }
      // At the limit the adapters still above their cap go with the allocation, for the caller
      // to report: the rounds are a search, and one that failed must not pass for a met cap.
      if (raised.equals(factors) || round == MAX_CAP_ROUNDS) {
        return allocation.afterCapRounds(round, overCap);
      }
      factors = raised;
    }
  }

  /**
   * An adapter's cap: {@link #ADAPTER_CAP} times its own error, at least the error that counts as
   * none ({@link RateDistortionTable#NEGLIGIBLE_SHARE} of its energy); none when the adapter scope
   * could not hold it.
   */
  static double cap(FleetAdapterScope own) {
    if (own == null) {
      return Double.POSITIVE_INFINITY;
    }
    return Math.max(ADAPTER_CAP * own.error(), RateDistortionTable.NEGLIGIBLE_SHARE * own.energy());
  }

  /** One allocation of the fleet at given adapter factors: the three steps of the class comment. */
  private static final class Solver {
    private final FleetPasses passes;
    private final long budgetBits;
    private final int driverComponents;
    private final FleetTotals totals;
    private List<FleetLayer> collected;

    Solver(FleetPasses passes, long budgetBits, int driverComponents) {
      this.passes = passes;
      this.budgetBits = budgetBits;
      this.driverComponents = driverComponents;
      this.totals = passes.totals();
      if (totals.minimumBits() > budgetBits) {
        long shortBits = totals.minimumBits() - budgetBits;
        throw new FleetBudgetTooSmallException("fleet budget of " + budgetBits + " bits is "
            + shortBits + " bits short of the " + totals.minimumBits() + " bits the smallest"
            + " storable form of its " + totals.layers() + " layers needs (side information and"
            + " each layer's first component at " + RateDistortionTable.GUARD_WIDTH + " bits)",
            shortBits);
      }
    }

    FleetAllocation solve(Map<String, Double> factors) {
      return solve(factors, MAX_EVEN_PASSES);
    }

    FleetAllocation solve(Map<String, Double> factors, int evenPasses) {
      double[] lambda = new double[1];
      long spent = searchLambda(passes, totals, budgetBits, factors, evenPasses, lambda);
      FleetAllocation allocation =
          new FleetAllocation(lambda[0], factors, budgetBits, spent, Map.of());
      if (totals.components() <= driverComponents) {
        if (collected == null) {
          collected = passes.collect();
        }
        allocation = solveHere(collected, allocation);
      }
      return spendLeftover(passes, allocation);
    }
  }

  /**
   * The smallest multiplier found whose choice fits (into {@code lambdaOut}); returns its bits.
   */
  private static long searchLambda(FleetPasses passes, FleetTotals totals, long budgetBits,
      Map<String, Double> factors, int evenPasses, double[] lambdaOut) {
    FleetSums atZero = passes.sums(factors, new double[] {0});
    if (atZero.bits(0) <= budgetBits) {
      lambdaOut[0] = 0;
      return atZero.bits(0);
    }
    // Above twice the largest weighted error no error difference is worth one bit: the
    // cheapest widths win everywhere, which is the smallest storable form (checked to fit).
    double largestFactor = 1;
    for (double f : factors.values()) {
      largestFactor = Math.max(largestFactor, f);
    }
    double hi = 2 * totals.largestError() * largestFactor + Double.MIN_NORMAL;
    long hiBits = totals.minimumBits();
    double lo = 0;
    // Geometric grid while nothing below hi is known to overspend.
    while (lo == 0 && hiBits < budgetBits) {
      double[] grid = new double[CANDIDATES];
      for (int j = 0; j < CANDIDATES; j++) {
        grid[j] = Math.scalb(hi, -GEOMETRIC_STEP * (CANDIDATES - j)); // ascending
      }
      if (grid[0] == 0) {
        break; // below the doubles' range: hi is as small as lambda gets
      }
      FleetSums sums = passes.sums(factors, grid);
      int fit = smallestFitting(sums, budgetBits);
      if (fit < 0) {
        lo = grid[CANDIDATES - 1];
      } else {
        hi = grid[fit];
        hiBits = sums.bits(fit);
        lo = fit == 0 ? 0 : grid[fit - 1];
      }
    }
    for (int pass = 0; pass < evenPasses && lo > 0 && hiBits < budgetBits; pass++) {
      double[] grid = new double[CANDIDATES];
      for (int j = 0; j < CANDIDATES; j++) {
        grid[j] = lo + (hi - lo) * (j + 1) / (CANDIDATES + 1);
      }
      if (!(grid[0] > lo) || !(grid[CANDIDATES - 1] < hi)) {
        break; // the interval cannot be split further in doubles
      }
      FleetSums sums = passes.sums(factors, grid);
      int fit = smallestFitting(sums, budgetBits);
      if (fit < 0) {
        lo = grid[CANDIDATES - 1];
      } else {
        hi = grid[fit];
        hiBits = sums.bits(fit);
        if (fit > 0) {
          lo = grid[fit - 1];
        }
      }
    }
    lambdaOut[0] = hi;
    return hiBits;
  }

  /** Index of the smallest multiplier (candidates ascending) whose bits fit; -1 if none. */
  private static int smallestFitting(FleetSums sums, long budgetBits) {
    for (int c = 0; c < sums.candidates(); c++) {
      if (sums.bits(c) <= budgetBits) {
        return c;
      }
    }
    return -1;
  }

  /** The leftover passes (see the class comment). */
  private static FleetAllocation spendLeftover(FleetPasses passes, FleetAllocation start) {
    FleetAllocation allocation = start;
    long left = start.budgetBits() - start.spentBits();
    for (int pass = 0; pass < MAX_LEFTOVER_PASSES; pass++) {
      FleetProposals proposals = passes.proposals(allocation, left, PROPOSALS);
      Map<String, Map<Integer, Integer>> accepted = new HashMap<>();
      // One change per layer: a proposal's extra bits are exact for that change alone (a second
      // change of the same layer could move the padding of its codes differently).
      Set<String> changedLayers = new HashSet<>();
      for (FleetProposals.Upgrade u : proposals.best()) {
        if (u.extraBits() <= left && changedLayers.add(u.key())) {
          accepted.computeIfAbsent(u.key(), k -> new TreeMap<>()).put(u.component(), u.to());
          left -= u.extraBits();
        }
      }
      if (accepted.isEmpty()) {
        break;
      }
      allocation = allocation.with(accepted, start.budgetBits() - left);
    }
    return allocation;
  }

  /**
   * A small fleet solved by {@link BitAllocator} on its weighted tables (the searched lambda's
   * factors on the weights); lambda stays the searched one (reported), every component's width is
   * set explicitly. BitAllocator counts as the adapter scope does, at least
   * {@link FleetLayer#countAllowance} bits per layer above the record count, so it is given the
   * budget plus those allowances: what fits its count fits the budget. (When the layers' lengths
   * are multiples of 8 the two counts differ by exactly the allowances, and its optimum is the
   * fleet's.) When that is below its smallest form (the allowance leaves no room for the codes'
   * padding), the searched allocation is kept.
   */
  private static FleetAllocation solveHere(List<FleetLayer> layers, FleetAllocation searched) {
    List<RateDistortionTable> tables = new ArrayList<>(layers.size());
    Set<String> keys = new HashSet<>();
    long allowance = 0;
    long minimum = 0;
    for (FleetLayer l : layers) {
      if (!keys.add(l.key())) {
        throw new IllegalArgumentException("the fleet holds " + l.adapter() + ":" + l.module()
            + " twice; each adapter's modules must be distinct");
      }
      RateDistortionTable t = l.weightedTable(searched.factor(l.adapter()));
      tables.add(t);
      allowance += l.countAllowance();
      minimum += t.minimumBits();
    }
    long budget = searched.budgetBits() + allowance;
    if (budget < minimum) {
      return searched;
    }
    int[][] widths = BitAllocator.allocate(tables, budget);
    Map<String, Map<Integer, Integer>> all = new HashMap<>();
    long spent = 0;
    for (int l = 0; l < layers.size(); l++) {
      Map<Integer, Integer> byComponent = new TreeMap<>();
      for (int i = 0; i < widths[l].length; i++) {
        byComponent.put(i, widths[l][i]);
      }
      all.put(layers.get(l).key(), byComponent);
      spent += layers.get(l).storedBits(widths[l]);
    }
    return searched.with(all, spent);
  }

  /**
   * The layers with the weight's factor on their errors; for {@link FleetWeight#ADAPTER} each
   * adapter's energy is the sum of its layers' (an engine gets it with a reduce by adapter).
   */
  public static List<FleetLayer> weighted(List<FleetLayer> layers, FleetWeight weight) {
    Map<String, Double> energy = new HashMap<>();
    for (FleetLayer l : layers) {
      energy.merge(l.adapter(), l.energy(), Double::sum);
    }
    List<FleetLayer> out = new ArrayList<>(layers.size());
    for (FleetLayer l : layers) {
      out.add(l.withWeight(weight.weightOf(energy.get(l.adapter()))));
    }
    return out;
  }
}
