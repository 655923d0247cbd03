package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.loraquant.linalg.LinearAlgebra;

/**
 * {@link LloydMaxCoder} codes every group bit for bit as a plain coder does: a division per value
 * and {@link LloydMaxLevels#nearestCode} at the RMS scale, the least-squares sums in a second
 * loop ({@link #referenceEncode}). Scales, codes, decoded values: all equal, on random groups, on
 * values placed on the bounds, and on real adapters' factors. And the stored scale never does
 * worse than the RMS scale the codes were chosen at.
 */
class LloydMaxCoderTest {

  @ParameterizedTest
  @CsvSource({"128, 4096", "128, 300", "7, 60", "1, 5", "16, 4099"})
  void codesEveryWidthExactlyAsTheDivisionDid(int groupSize, int len) {
    Random random = new Random(groupSize * 31L + len);
    LloydMaxCoder coder = new LloydMaxCoder(groupSize);
    for (int trial = 0; trial < 12; trial++) {
      double[] x = sample(random, len, trial);
      for (int bits = 2; bits <= 8; bits++) {
        assertSameAsReference(coder, x, groupSize, bits, "trial " + trial);
      }
    }
  }

  /**
   * The least-squares scale stored with the codes does at least as well as the RMS scale they
   * were chosen at (docs/ALGORITHM.md, step B3), on Gaussian, heavy-tailed, sparse and constant
   * groups and one huge value, at every width. The allowance is the values' rounding to binary32,
   * far below what a scale one binary16 step off costs.
   */
  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8})
  void theStoredScaleDoesAtLeastAsWellAsTheRmsScale(int bits) {
    Random random = new Random(100 + bits);
    LloydMaxCoder coder = new LloydMaxCoder(128);
    int better = 0;
    for (int trial = 0; trial < 12; trial++) {
      double[] x = sample(random, 128 * 40, trial);
      for (int start = 0; start < x.length; start += 128) {
        byte[] codes = new byte[128];
        double[] recon = new double[128];
        coder.encode(x, start, 128, bits, codes, 0, recon, 0);
        float rms = Binary16.toFloat(LloydMaxCoder.rmsScale(x, start, 128));
        double stored = 0;
        double atRms = 0;
        double energy = 0;
        for (int i = 0; i < 128; i++) {
          double xi = x[start + i];
          double v = VectorQuantizer.lloydMaxValue(bits, codes[i] & 0xff, rms);
          stored += (xi - recon[i]) * (xi - recon[i]);
          atRms += (xi - v) * (xi - v);
          energy += xi * xi;
        }
        assertThat(stored).as("trial %d, group at %d, %d bits", trial, start, bits)
            .isLessThanOrEqualTo(atRms + 1e-9 * energy);
        better += stored < atRms ? 1 : 0;
      }
    }
    // Not a vacuous comparison: the fitted scale is strictly better in most groups.
    assertThat(better).isGreaterThan(12 * 40 / 2);
  }

  /**
   * Values placed exactly on the coder's bounds and one ulp below them, for the scale the group
   * will get: the cases where a comparison and a division could disagree.
   */
  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8})
  void valuesOnTheBoundsCodeAsTheDivisionCodesThem(int bits) {
    Random random = new Random(bits);
    LloydMaxCoder coder = new LloydMaxCoder(64);
    for (int trial = 0; trial < 200; trial++) {
      double sigma = Math.pow(10, -6 + 6 * random.nextDouble());
      double[] x = new double[64];
      for (int i = 0; i < 64; i++) {
        x[i] = sigma * random.nextGaussian();
      }
      // The first half fixes the group's RMS closely enough; the second half sits on the bounds
      // of the RMS scale of the first half (thresholds drawn at random), and one ulp below them.
      float scale = Binary16.toFloat(Binary16.scaleBits(sigma));
      double[] t = LloydMaxLevels.thresholds(bits);
      for (int i = 32; i < 64; i++) {
        double bound = LloydMaxCoder.smallestReaching(t[random.nextInt(t.length)], scale);
        x[i] = i % 2 == 0 ? bound : Math.nextDown(bound);
      }
      assertSameAsReference(coder, x, 64, bits, "trial " + trial);
    }
  }

  /**
   * The balanced factors of real adapters' layers (the vectors the budget mode codes), every
   * column of B' and row of A', at every width, in groups of 128 (the default) and 32.
   */
  @Test
  void codesRealFactorsExactlyAsTheDivisionDid() throws IOException {
    LinearAlgebra linalg = LinearAlgebra.javaOnly();
    int vectors = 0;
    for (String adapter : new String[] {"opt-125m-qv-r16-bf16", "llama3.2-1b-qv-r8",
        "whisper-small-qv-r8", "roberta-base-qkv-r7"}) {
      Path file = RealAdapterFixture.adaptersRoot().resolve(adapter).resolve("adapter_model.safetensors");
      List<RealAdapterFixture.Layer> layers = RealAdapterFixture.load(adapter, file);
      for (RealAdapterFixture.Layer l : layers.subList(0, Math.min(4, layers.size()))) {
        BalancedLayer layer = BalancedLayer.of(l.factors(), linalg);
        for (int i = 0; i < layer.k(); i++) {
          double[] b = Arrays.copyOfRange(layer.bp(), i * layer.m(), (i + 1) * layer.m());
          double[] a = Arrays.copyOfRange(layer.ap(), i * layer.n(), (i + 1) * layer.n());
          for (int groupSize : new int[] {128, 32}) {
            LloydMaxCoder coder = new LloydMaxCoder(groupSize);
            for (int bits = 2; bits <= 8; bits++) {
              String what = adapter + " " + l.module() + " component " + i;
              assertSameAsReference(coder, b, groupSize, bits, what + " B'");
              assertSameAsReference(coder, a, groupSize, bits, what + " A'");
            }
          }
          vectors += 2;
        }
      }
    }
    assertThat(vectors).isGreaterThan(100);
  }

  @Test
  void theBoundIsTheSmallestValueWhoseQuotientReachesTheThreshold() {
    Random random = new Random(5);
    for (int trial = 0; trial < 100_000; trial++) {
      double t = (random.nextDouble() - 0.5) * 10;
      float scale = Binary16.toFloat((short) (1 + random.nextInt(Binary16.MAX_FINITE_BITS)));
      double bound = LloydMaxCoder.smallestReaching(t, scale);
      assertThat(bound / scale).as("t %s, scale %s", t, scale).isGreaterThanOrEqualTo(t);
      assertThat(Math.nextDown(bound) / scale).as("t %s, scale %s", t, scale).isLessThan(t);
    }
  }

  /**
   * Each bound the comparisons use is, by its definition, the largest double whose quotient by
   * the scale is below the threshold: its quotient is below and the next double's is not; after
   * them comes +infinity. At every threshold of every width and every scale a group can store
   * (every positive finite binary16 value): the whole domain.
   */
  @Test
  void everyBoundIsTheLargestValueWhoseQuotientIsBelowTheThresholdAtEveryScale() {
    long checked = 0;
    for (int bits = 2; bits <= LloydMaxCoder.WIDEST_BY_COMPARISON; bits++) {
      double[] thresholds = LloydMaxLevels.thresholds(bits);
      for (short h = Binary16.MIN_POSITIVE_BITS; h <= Binary16.MAX_FINITE_BITS; h++) {
        float scale = Binary16.toFloat(h);
        double[] bounds = LloydMaxCoder.boundsBelow(bits, scale);
        for (int j = 0; j < thresholds.length; j++) {
          double below = bounds[j];
          double t = thresholds[j];
          if (!(below / scale < t && Math.nextUp(below) / scale >= t)) {
            throw new AssertionError(bits + " bits, threshold " + t + ", scale " + scale
                + ": bound " + below);
          }
          checked++;
        }
        if (bounds[thresholds.length] != Double.POSITIVE_INFINITY) {
          throw new AssertionError(bits + " bits, scale " + scale + ": no +infinity after the"
              + " bounds but " + bounds[thresholds.length]);
        }
      }
    }
    assertThat(checked).isEqualTo(((4 + 8 + 16 + 32 + 64) - 5L) * Binary16.MAX_FINITE_BITS);
  }

  /**
   * The grid of the widths from 4 bits on: each cell's code is that of its lower edge less the
   * margin, and the cell, widened by the margin at both ends, holds at most one threshold, so the
   * code of any value whose product lands in it is that code or the next.
   */
  @Test
  void everyGridCellHoldsAtMostOneThreshold() {
    for (int bits = LloydMaxCoder.FIRST_BY_GRID; bits <= LloydMaxCoder.WIDEST_BY_COMPARISON;
        bits++) {
      int cells = LloydMaxCoder.gridCells(bits);
      for (int c = 0; c < cells; c++) {
        double start = LloydMaxCoder.gridCellStart(bits, c) - LloydMaxCoder.GRID_MARGIN;
        double end = LloydMaxCoder.gridCellStart(bits, c + 1) + LloydMaxCoder.GRID_MARGIN;
        int code = LloydMaxCoder.gridCode(bits, c);
        assertThat(code).as("%d bits, cell %d", bits, c)
            .isEqualTo(LloydMaxLevels.nearestCodeBySearch(bits, start));
        assertThat(LloydMaxLevels.nearestCodeBySearch(bits, end)).as("%d bits, cell %d", bits, c)
            .isBetween(code, code + 1);
      }
      // Values beyond the grid: the first cell's code is 0 and the last cell's the largest.
      assertThat(LloydMaxCoder.gridCode(bits, 0)).isZero();
      assertThat(LloydMaxCoder.gridCode(bits, cells - 1)).isEqualTo((1 << bits) - 1);
    }
  }

  /**
   * Values at and just inside the grid's edges, far beyond them, the largest finite doubles and
   * the smallest subnormals, at the smallest, a middling and the largest scales.
   */
  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 5, 6, 7})
  void extremeValuesCodeAsTheDivisionCodesThem(int bits) {
    LloydMaxCoder coder = new LloydMaxCoder(16);
    for (short h : new short[] {Binary16.MIN_POSITIVE_BITS, 0x3c00, Binary16.MAX_FINITE_BITS}) {
      float scale = Binary16.toFloat(h);
      double[] x = new double[16];
      double edge = 8.0 * scale;
      double[] picks = {edge, Math.nextDown(edge), -edge, Math.nextUp(-edge), 1e300, -1e300,
          Double.MAX_VALUE, -Double.MAX_VALUE, Double.MIN_VALUE, -Double.MIN_VALUE, 0.0, -0.0,
          100 * edge, -100 * edge, scale, -scale};
      for (int i = 0; i < 16; i++) {
        x[i] = picks[i];
      }
      // Each value alone (its group's scale is then its own), and all together.
      for (int i = 0; i < 16; i++) {
        assertSameAsReference(coder, new double[] {x[i]}, 1, bits, "value " + x[i]);
      }
      assertSameAsReference(coder, x, 16, bits, "scale " + scale);
    }
  }

  /** Gaussian groups of many sizes, heavy tails, zero and constant runs, one huge value. */
  private static double[] sample(Random random, int len, int trial) {
    double sigma = Math.pow(10, -7 + trial);
    double[] x = new double[len];
    for (int i = 0; i < len; i++) {
      double g = random.nextGaussian();
      x[i] = sigma * (trial % 3 == 1 ? g * g * g : g);
    }
    if (trial % 4 == 2) {
      for (int i = 0; i < len / 3; i++) {
        x[i] = 0;
      }
      for (int i = len / 3; i < len / 2; i++) {
        x[i] = sigma;
      }
    }
    if (trial % 5 == 3) {
      x[len / 2] = 1000 * sigma;
    }
    return x;
  }

  private static void assertSameAsReference(LloydMaxCoder coder, double[] x, int groupSize,
      int bits, String what) {
    int len = x.length;
    byte[] codes = new byte[len + 2];
    double[] recon = new double[len + 3];
    byte[] refCodes = new byte[len + 2];
    double[] refRecon = new double[len + 3];
    for (int start = 0; start < len; start += groupSize) {
      int glen = Math.min(groupSize, len - start);
      short scale = coder.encode(x, start, glen, bits, codes, start + 2, recon, start + 3);
      short refScale = referenceEncode(x, start, glen, bits, refCodes, start + 2, refRecon,
          start + 3);
      assertThat(scale).as("%s, %d bits, scale of group at %d", what, bits, start)
          .isEqualTo(refScale);
    }
    assertThat(codes).as("%s, %d bits, codes", what, bits).isEqualTo(refCodes);
    for (int i = 0; i < recon.length; i++) {
      assertThat(Double.doubleToRawLongBits(recon[i]))
          .as("%s, %d bits, value %d", what, bits, i)
          .isEqualTo(Double.doubleToRawLongBits(refRecon[i]));
    }
  }

  // The plain coder: a division per value at the RMS scale, the least-squares sums in a second
  // loop, the values in a third.

  private static short referenceEncode(double[] x, int off, int len, int bits, byte[] codes,
      int codeOff, double[] recon, int reconOff) {
    double sumSquares = 0;
    for (int i = 0; i < len; i++) {
      sumSquares += x[off + i] * x[off + i];
    }
    float rms = Binary16.toFloat(Binary16.scaleBits(Math.sqrt(sumSquares / len)));
    for (int i = 0; i < len; i++) {
      codes[codeOff + i] = (byte) (rms == 0 ? 1 << (bits - 1)
          : LloydMaxLevels.nearestCode(bits, x[off + i] / rms));
    }
    double xl = 0;
    double ll = 0;
    for (int i = 0; i < len; i++) {
      double level = LloydMaxLevels.level(bits, codes[codeOff + i] & 0xff);
      xl += x[off + i] * level;
      ll += level * level;
    }
    short fitted = Binary16.scaleBits(Math.max(0, xl / ll));
    for (int i = 0; i < len; i++) {
      recon[reconOff + i] = VectorQuantizer.lloydMaxValue(bits, codes[codeOff + i] & 0xff,
          Binary16.toFloat(fitted));
    }
    return fitted;
  }
}
