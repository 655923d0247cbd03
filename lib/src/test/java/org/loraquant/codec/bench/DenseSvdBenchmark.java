package org.loraquant.codec.bench;

import java.util.concurrent.TimeUnit;
import org.loraquant.codec.LoraFactors;
import org.loraquant.linalg.DenseReferenceSvd;
import org.loraquant.linalg.ThinSvd;
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
import org.openjdk.jmh.annotations.Timeout;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The reference method the codec's thin SVD replaces: form B A and run dgesdd on it, for the
 * shapes of {@link CodecBenchmark}. Up to minutes per call (4096 x 11008 with pure-Java LAPACK:
 * about ten), hence one single shot.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 0)
@Measurement(iterations = 1)
@Fork(value = 1, jvmArgs = {"-Xmx4g"})
@Timeout(time = 30, timeUnit = TimeUnit.MINUTES) // the default 10 min is too short for Java
public class DenseSvdBenchmark {
  @Param({"4096x4096r16", "4096x4096r64", "4096x11008r16"})
  public String shape;

  @Param({"native", "java"})
  public String lapack;

  private int m;
  private int n;
  private int r;
  private double[] b;
  private double[] at;
  private DenseReferenceSvd dense;

  @Setup
  public void setUp() {
    LoraFactors f = BenchmarkLayers.factors(shape);
    m = f.m();
    n = f.n();
    r = f.r();
    b = new double[m * r];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        b[j * m + i] = f.b()[i * r + j];
      }
    }
    at = new double[r * n];
    for (int i = 0; i < at.length; i++) {
      at[i] = f.a()[i];
    }
    dense = new DenseReferenceSvd(BenchmarkLayers.linalg(lapack));
  }

  @Benchmark
  public ThinSvd denseSvd() {
    return dense.decompose(m, n, r, b, at);
  }
}
