package org.loraquant.safetensors;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decoding throughput of F32, F16 and BF16 to float. Each invocation decodes one buffer of {@code
 * values} elements (default 1M, about the size of a large LoRA factor) into a reused float array;
 * GB/s of input = ops/s x values x dtype size / 1e9 (bin/bench-decode prints it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class DecodeBenchmark {
  @Param({"F32", "F16", "BF16"})
  public String dtype;

  @Param({"1048576"})
  public int values;

  private DType type;
  private byte[] input;
  private float[] output;

  @Setup(Level.Trial)
  public void setUp() {
    type = DType.valueOf(dtype);
    // Random bit patterns: every exponent, subnormals and NaNs included, so no branch is favoured.
    input = new byte[values * type.size()];
    new SplittableRandom(42).nextBytes(input);
    output = new float[values];
  }

  @Benchmark
  public float[] decode() {
    FloatDecoding.decode(type, input, 0, output, 0, values);
    return output;
  }
}
