package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.linalg.GramFactoredSvd;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.linalg.QrFactoredSvd;
import org.loraquant.linalg.ThinSvd;

class LoraQuantCodecTest {
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();
  private static final CodecSettings DEFAULTS = CodecSettings.defaults();

  private static CompressedLayerResult compress(LoraFactors f, CodecSettings settings) {
    return LoraQuantCodec.compress(f, settings, LINALG);
  }

  /** The decoded layer gives exactly the error the stats report, by two independent routes. */
  private static void assertStatsMatchDecoded(LoraFactors f, CompressedLayerResult result) {
    DecodedLayer decoded = LoraQuantCodec.decode(result.layer());
    double dense = TestFactors.denseRelativeError(f, decoded);
    assertThat(result.stats().relError()).isCloseTo(dense, within(1e-7 + 1e-7 * dense));
    assertThat(FactorGramError.relative(f, decoded)).isCloseTo(dense, within(1e-7 + 1e-7 * dense));
  }

  @ParameterizedTest
  @CsvSource({"300, 200, 8", "129, 257, 5", "128, 256, 16", "1, 1, 1", "700, 3, 2"})
  void statsErrorIsTheErrorOfTheDecodedFactors(int m, int n, int r) {
    LoraFactors f = TestFactors.decaying(m * 31L + n, m, n, r);
    CompressedLayerResult result = compress(f, DEFAULTS);
    assertStatsMatchDecoded(f, result);
    assertThat(result.stats().relError()).isBetween(0.0, 1.0);
  }

  @Test
  void tierErrorsMeanOnlyThatTierQuantized() {
    int m = 200;
    int n = 150;
    int r = 8;
    LoraFactors f = TestFactors.decaying(5, m, n, r);
    CompressedLayerResult result = compress(f, DEFAULTS);
    LayerStats stats = result.stats();
    assertThat(stats.h()).isBetween(1, r - 1);
    DecodedLayer decoded = LoraQuantCodec.decode(result.layer());
    // Exact B' and A' from the same SVD the codec uses.
    double[] b = new double[m * r];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        b[j * m + i] = f.b()[i * r + j];
      }
    }
    double[] at = new double[r * n];
    for (int i = 0; i < at.length; i++) {
      at[i] = f.a()[i];
    }
    ThinSvd svd = new QrFactoredSvd(LINALG).decompose(m, n, r, b, at);
    assertThat(denseErrorWithExactComponents(f, decoded, svd, stats.h(), r))
        .isCloseTo(stats.errorHigh(), within(1e-6));
    assertThat(denseErrorWithExactComponents(f, decoded, svd, 0, stats.h()))
        .isCloseTo(stats.errorLow(), within(1e-6));
    assertThat(stats.errorHigh()).isPositive().isLessThan(stats.relError());
    assertThat(stats.errorLow()).isPositive().isLessThan(stats.relError());
  }

  /** Dense error of the decoded layer with components [from, to) replaced by the exact ones. */
  private static double denseErrorWithExactComponents(LoraFactors f, DecodedLayer d, ThinSvd svd,
      int from, int to) {
    float[] b = d.b().clone();
    float[] a = d.a().clone();
    int k = d.k();
    for (int c = from; c < to; c++) {
      double root = Math.sqrt(svd.s()[c]);
      for (int i = 0; i < d.m(); i++) {
        b[i * k + c] = (float) (svd.u()[c * d.m() + i] * root);
      }
      for (int l = 0; l < d.n(); l++) {
        a[c * d.n() + l] = (float) (svd.v()[c * d.n() + l] * root);
      }
    }
    return TestFactors.denseRelativeError(f, new DecodedLayer(d.m(), d.n(), d.rank(), k, b, a));
  }

  @Test
  void bitCountsFollowTheFormulas() {
    int m = 300;
    int n = 200;
    int r = 8;
    int g = 128;
    CodecSettings settings = DEFAULTS.withBitsHigh(3);
    LayerStats stats = compress(TestFactors.decaying(7, m, n, r), settings).stats();
    int h = stats.h();
    assertThat(stats.payloadBits()).isEqualTo((long) (h * 3 + (r - h)) * (m + n));
    assertThat(stats.params()).isEqualTo((long) r * (m + n));
    long groups = (long) r * ((m + g - 1) / g + (n + g - 1) / g);
    long highGroups = (long) h * ((m + g - 1) / g + (n + g - 1) / g);
    long codeBits = 8L * ((h * m * 3 + 7) / 8 + (h * n * 3 + 7) / 8
        + ((r - h) * m + 7) / 8 + ((r - h) * n + 7) / 8);
    assertThat(stats.effectiveBits())
        .isEqualTo(codeBits + 16 * groups + 8 * highGroups + LayerStats.LAYER_HEADER_BITS);
    assertThat(stats.payloadBitsPerParam()).isCloseTo((h * 3.0 + (r - h)) / r, within(1e-12));
  }

  @Test
  void packedLayoutFollowsTheContract() {
    int m = 129;
    int n = 257;
    CompressedLayer layer = compress(TestFactors.decaying(9, m, n, 6), DEFAULTS).layer();
    assertThat(layer.tiers()).hasSize(2);
    QuantTier high = layer.tiers().get(0);
    QuantTier low = layer.tiers().get(1);
    assertThat(high.bits()).isEqualTo(2);
    assertThat(high.first()).isZero();
    assertThat(high.count()).isEqualTo(layer.h());
    assertThat(low.bits()).isEqualTo(1);
    assertThat(low.first()).isEqualTo(layer.h());
    assertThat(low.b().groupsPerVector()).isEqualTo(2); // 128 + a tail group of 1
    assertThat(low.a().groupsPerVector()).isEqualTo(3); // 128 + 128 + 1
    assertThat(low.b().zeros()).isEmpty();
    assertThat(high.a().zeros()).hasSize(high.count() * 3);
  }

  @Test
  void rankAboveMinDimensionKeepsMinDimensionComponentsAndPadsOnDecode() {
    LoraFactors f = TestFactors.decaying(11, 5, 300, 16);
    CompressedLayerResult result = compress(f, DEFAULTS);
    assertThat(result.layer().k()).isEqualTo(5);
    assertThat(result.stats().singularValues()).hasSize(5);
    assertStatsMatchDecoded(f, result);
    LoraFactors padded = LoraQuantCodec.decode(result.layer()).toLoraFactors();
    assertThat(padded.r()).isEqualTo(16);
    for (int i = 0; i < 5; i++) {
      for (int j = 5; j < 16; j++) {
        assertThat(padded.b()[i * 16 + j]).isZero();
      }
    }
    assertThat(Arrays.copyOfRange(padded.a(), 5 * 300, 16 * 300)).containsOnly(0f);
  }

  @Test
  void allZeroUpdateIsFlaggedWithZeroErrorAndNoNaN() {
    LoraFactors nonZero = TestFactors.gaussian(13, 64, 48, 4);
    LoraFactors zeroB = new LoraFactors(64, 48, 4, new float[64 * 4], nonZero.a());
    LoraFactors zeroA = new LoraFactors(64, 48, 4, nonZero.b(), new float[4 * 48]);
    for (LoraFactors f : new LoraFactors[] {zeroB, zeroA}) {
      for (CodecSettings settings : new CodecSettings[] {DEFAULTS,
          DEFAULTS.withRefinement(Refinement.SEARCH).withSplitRule(SplitRule.REFERENCE)}) {
        CompressedLayerResult result = compress(f, settings);
        LayerStats stats = result.stats();
        assertThat(stats.zeroUpdate()).isTrue();
        assertThat(stats.relError()).isZero();
        assertThat(stats.errorHigh()).isZero();
        assertThat(stats.errorLow()).isZero();
        assertThat(stats.highEnergyShare()).isZero();
        assertThat(stats.singularValues()).containsOnly(0f);
        DecodedLayer decoded = LoraQuantCodec.decode(result.layer());
        assertThat(decoded.b()).containsOnly(0f);
        assertThat(decoded.a()).containsOnly(0f);
      }
    }
  }

  @Test
  void zeroComponentsOfARankDeficientUpdateDecodeToZero() {
    // The third column of B is zero, so the third singular value is zero: sign(0) = 0.
    LoraFactors f = TestFactors.gaussian(15, 100, 90, 3);
    for (int i = 0; i < 100; i++) {
      f.b()[i * 3 + 2] = 0;
    }
    CompressedLayerResult result = compress(f, DEFAULTS);
    assertThat(result.stats().singularValues()[2]).isZero();
    DecodedLayer decoded = LoraQuantCodec.decode(result.layer());
    for (int i = 0; i < 100; i++) {
      assertThat(decoded.b()[i * 3 + 2]).isZero();
    }
    assertThat(Arrays.copyOfRange(decoded.a(), 2 * 90, 3 * 90)).containsOnly(0f);
  }

  @Test
  void rankOneIsAllHighTier() {
    LoraFactors f = TestFactors.gaussian(17, 256, 128, 1);
    for (SplitRule rule : SplitRule.values()) {
      CompressedLayerResult result = compress(f, DEFAULTS.withSplitRule(rule));
      assertThat(result.layer().k()).isEqualTo(1);
      assertThat(result.layer().h()).isEqualTo(1);
      assertThat(result.layer().tiers()).singleElement().extracting(QuantTier::bits).isEqualTo(2);
      assertStatsMatchDecoded(f, result);
    }
  }

  @Test
  void rank256() {
    LoraFactors f = TestFactors.decaying(19, 300, 260, 256);
    CompressedLayerResult result = compress(f, DEFAULTS);
    assertThat(result.layer().k()).isEqualTo(256);
    LayerStats stats = result.stats();
    assertThat(stats.h()).isBetween(1, 255);
    double dense = TestFactors.denseRelativeError(f, LoraQuantCodec.decode(result.layer()));
    assertThat(stats.relError()).isCloseTo(dense, within(1e-6 * dense));
  }

  @Test
  void zeroSizeDimensionsGiveAnEmptyLayer() {
    for (int[] shape : new int[][] {{0, 10, 4}, {10, 0, 4}, {10, 12, 0}}) {
      int m = shape[0];
      int n = shape[1];
      int r = shape[2];
      CompressedLayerResult result =
          compress(new LoraFactors(m, n, r, new float[m * r], new float[r * n]), DEFAULTS);
      assertThat(result.layer().k()).isZero();
      assertThat(result.layer().tiers()).isEmpty();
      assertThat(result.stats().zeroUpdate()).isTrue();
      assertThat(result.stats().relError()).isZero();
      assertThat(result.stats().payloadBits()).isZero();
      assertThat(result.stats().effectiveBits()).isEqualTo(LayerStats.LAYER_HEADER_BITS);
      LoraFactors decoded = LoraQuantCodec.decode(result.layer()).toLoraFactors();
      assertThat(decoded.r()).isEqualTo(r);
    }
  }

  @Test
  void sameInputGivesIdenticalBytes() {
    LoraFactors f = TestFactors.decaying(21, 333, 222, 12);
    for (CodecSettings settings : new CodecSettings[] {DEFAULTS,
        DEFAULTS.withRefinement(Refinement.SEARCH)}) {
      CompressedLayer first = compress(f, settings).layer();
      CompressedLayer second = compress(f, settings).layer();
      assertThat(second.tiers()).hasSameSizeAs(first.tiers());
      for (int t = 0; t < first.tiers().size(); t++) {
        assertSameBytes(first.tiers().get(t).b(), second.tiers().get(t).b());
        assertSameBytes(first.tiers().get(t).a(), second.tiers().get(t).a());
      }
    }
  }

  @Test
  void reusedWorkArraysDoNotCarryAnythingFromOneLayerToTheNext() throws Exception {
    // The codec reuses its work arrays per thread: a layer must come out the same whatever the
    // thread compressed before it (bigger, smaller, other rank, refined), and the same as on a
    // thread that never compressed anything.
    LoraFactors layer = TestFactors.decaying(41, 600, 520, 12);
    LoraFactors[] others = {TestFactors.decaying(42, 1100, 700, 24),
        TestFactors.gaussian(43, 30, 20, 4), TestFactors.decaying(44, 600, 520, 12)};
    for (CodecSettings settings : new CodecSettings[] {DEFAULTS,
        DEFAULTS.withRefinement(Refinement.SEARCH)}) {
      CompressedLayerResult[] fresh = new CompressedLayerResult[1];
      Thread thread = new Thread(() -> fresh[0] = compress(layer, settings));
      thread.start();
      thread.join();
      for (LoraFactors other : others) {
        compress(other, DEFAULTS.withRefinement(Refinement.SEARCH));
        compress(other, DEFAULTS);
        CompressedLayerResult again = compress(layer, settings);
        for (int t = 0; t < fresh[0].layer().tiers().size(); t++) {
          assertSameBytes(fresh[0].layer().tiers().get(t).b(), again.layer().tiers().get(t).b());
          assertSameBytes(fresh[0].layer().tiers().get(t).a(), again.layer().tiers().get(t).a());
        }
        assertThat(again.stats().relError()).isEqualTo(fresh[0].stats().relError());
        assertThat(again.stats().errorHigh()).isEqualTo(fresh[0].stats().errorHigh());
        assertThat(again.stats().errorLow()).isEqualTo(fresh[0].stats().errorLow());
      }
    }
  }

  private static void assertSameBytes(PackedGroups x, PackedGroups y) {
    assertThat(y.codes()).containsExactly(x.codes());
    assertThat(y.scales()).containsExactly(x.scales());
    assertThat(y.zeros()).containsExactly(x.zeros());
  }

  @ParameterizedTest
  @CsvSource({"300, 200, 8, 2, 128", "129, 257, 5, 3, 128", "512, 384, 16, 2, 64",
      "64, 700, 4, 4, 32", "40, 30, 6, 1, 16"})
  void searchIsNeverWorseThanRoundToNearestAndDecodesToItsStats(int m, int n, int r, int bits,
      int group) {
    for (long seed = 0; seed < 3; seed++) {
      LoraFactors f = TestFactors.decaying(seed * 1000 + m, m, n, r);
      CodecSettings none = DEFAULTS.withBitsHigh(bits).withGroupSize(group);
      CompressedLayerResult plain = compress(f, none);
      CompressedLayerResult searched = compress(f, none.withRefinement(Refinement.SEARCH));
      assertThat(searched.stats().relError()).isLessThanOrEqualTo(plain.stats().relError());
      assertThat(searched.stats().h()).isEqualTo(plain.stats().h());
      assertThat(searched.stats().payloadBits()).isEqualTo(plain.stats().payloadBits());
      assertStatsMatchDecoded(f, searched);
    }
  }

  @Test
  void searchImprovesATypicalLayer() {
    LoraFactors f = TestFactors.decaying(23, 512, 384, 16);
    double plain = compress(f, DEFAULTS).stats().relError();
    double searched = compress(f, DEFAULTS.withRefinement(Refinement.SEARCH)).stats().relError();
    assertThat(searched).isLessThan(0.97 * plain);
  }

  @Test
  void nativeAndJavaLapackAgreeOnTheStats() {
    org.loraquant.testing.NativeLinalg.assumeTested();
    LoraFactors f = TestFactors.decaying(25, 400, 300, 16);
    LayerStats java = compress(f, DEFAULTS).stats();
    LayerStats nat = LoraQuantCodec.compress(f, DEFAULTS, LinearAlgebra.nativeOnly()).stats();
    assertThat(nat.h()).isEqualTo(java.h());
    assertThat(nat.relError()).isCloseTo(java.relError(), within(1e-3 * java.relError()));
  }

  @Test
  void nonFiniteInputIsRejectedWithItsPosition() {
    LoraFactors f = TestFactors.gaussian(27, 10, 8, 2);
    f.b()[2 * 2 + 1] = Float.NaN;
    assertThatThrownBy(() -> compress(f, DEFAULTS))
        .isInstanceOf(InvalidAdapterException.class)
        .hasMessageContaining("B").hasMessageContaining("NaN").hasMessageContaining("(2, 1)");
    LoraFactors g = TestFactors.gaussian(27, 10, 8, 2);
    g.a()[5] = Float.POSITIVE_INFINITY;
    assertThatThrownBy(() -> compress(g, DEFAULTS)).hasMessageContaining("Infinity");
  }

  @Test
  void nonFiniteInputIsRejectedOnLayersLargeEnoughForTheGramRoute() {
    // 512 x 384: the Gram route is tried first; it must turn every non-finite entry away.
    float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
    for (float value : bad) {
      LoraFactors f = TestFactors.decaying(31, 512, 384, 8);
      f.b()[300 * 8 + 7] = value;
      assertThatThrownBy(() -> compress(f, DEFAULTS))
          .isInstanceOf(InvalidAdapterException.class)
          .hasMessageContaining("factor B").hasMessageContaining(String.valueOf(value))
          .hasMessageContaining("(300, 7)");
      LoraFactors g = TestFactors.decaying(31, 512, 384, 8);
      g.a()[5 * 384 + 383] = value;
      assertThatThrownBy(() -> compress(g, DEFAULTS))
          .isInstanceOf(InvalidAdapterException.class)
          .hasMessageContaining("factor A").hasMessageContaining("(5, 383)");
    }
    // ... and the clean factors do take it, so the rejection above is the Gram route's doing.
    LoraFactors clean = TestFactors.decaying(31, 512, 384, 8);
    assertThat(new GramFactoredSvd(LinearAlgebra.javaOnly()).balancedGramRoute(512, 384, 8,
        doubles(clean.b()), doubles(clean.a()), null, null)).isNotNull();
  }

  private static double[] doubles(float[] x) {
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i];
    }
    return out;
  }

  @Test
  void statsReportTheSpectrumAndItsSplit() {
    LoraFactors f = TestFactors.decaying(29, 256, 256, 8);
    LayerStats stats = compress(f, DEFAULTS).stats();
    float[] s = stats.singularValues();
    double total = 0;
    double high = 0;
    for (int i = 0; i < s.length; i++) {
      total += (double) s[i] * s[i];
      if (i < stats.h()) {
        high += (double) s[i] * s[i];
      }
    }
    assertThat(stats.highEnergyShare()).isCloseTo(high / total, within(1e-6));
    assertThat(stats.highEnergyShare()).isGreaterThanOrEqualTo(0.8 - 1e-6);
    assertThat(stats.nanos()).isPositive();
    assertThat(stats.m()).isEqualTo(256);
    assertThat(stats.rank()).isEqualTo(8);
  }
}
