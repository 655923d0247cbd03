package org.loraquant.codec.bench;

import java.util.concurrent.TimeUnit;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.LoraQuantCodec;
import org.loraquant.codec.Refinement;
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

/** One layer through {@link LoraQuantCodec#compress}: SVD, quantization, packing and stats. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class CodecBenchmark {
  @Param({"4096x4096r16", "4096x4096r64", "4096x11008r16"})
  public String shape;

  @Param({"native", "java"})
  public String lapack;

  @Param({"NONE"})
  public String refinement;

  private LoraFactors factors;
  private LinearAlgebra linalg;
  private CodecSettings settings;

  @Setup
  public void setUp() {
    factors = BenchmarkLayers.factors(shape);
    linalg = BenchmarkLayers.linalg(lapack);
    settings = CodecSettings.defaults().withRefinement(Refinement.valueOf(refinement));
  }

  @Benchmark
  public CompressedLayerResult compress() {
    return LoraQuantCodec.compress(factors, settings, linalg);
  }
}
