package org.loraquant.codec.bench;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.loraquant.codec.BudgetCodec;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.LoraQuantCodec;
import org.loraquant.linalg.LinearAlgebra;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One layer through the budget mode ({@link BudgetCodec#compress} with its defaults: scope
 * adapter, Lloyd-Max levels, 2 refit steps, group 128) next to the paper mode
 * ({@link LoraQuantCodec#compress} with its defaults), native LAPACK (issue 18's bar: the budget
 * mode within 2.5x the paper mode at r16). Run by bin/bench-codec with BENCH_BUDGET=1.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class BudgetModeBenchmark {
  /** The budget of the headline figure: the paper mode's 2@0.8 cost on the real fleet. */
  static final double BUDGET_BITS = 1.4;

  @Param({"4096x4096r16", "4096x4096r64", "4096x11008r16"})
  public String shape;

  @Param({"paper", "budget"})
  public String mode;

  private LoraFactors factors;
  private LinearAlgebra linalg;
  private CodecSettings paper;
  private BudgetSettings budget;

  @Setup
  public void setUp() {
    factors = BenchmarkLayers.factors(shape);
    linalg = BenchmarkLayers.linalg("native");
    paper = CodecSettings.defaults();
    budget = BudgetSettings.of(BUDGET_BITS);
  }

  @Benchmark
  public Object compress() {
    return "paper".equals(mode) ? LoraQuantCodec.compress(factors, paper, linalg)
        : BudgetCodec.compress(List.of(factors), budget, linalg);
  }
}
