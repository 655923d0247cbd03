package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.loraquant.linalg.LinearAlgebra;

/**
 * The codec against the plain reference implementation on the real adapters in
 * shared/adapters/real: split REFERENCE and no refinement must give the same h and payload bits,
 * and relative errors within 1%.
 *
 * <p>The dense reference costs m n min(m, n) per layer (seconds for 768 x 768 with pure-Java
 * LAPACK, minutes for 6144 x 2048), so by default it runs on the smallest layer of each adapter
 * whose cost is at most {@value #DEFAULT_MAX_COST} (768 x 768 passes). System properties widen it:
 * {@code loraquant.reference.layers=all} takes every layer under the cap and
 * {@code loraquant.reference.maxCost} sets the cap. The cheap check (error from the original
 * factors' Gram matrices) runs on every layer.
 */
class ReferenceAgreementTest {
  static final long DEFAULT_MAX_COST = 500_000_000L;
  private static List<RealAdapterFixture.Layer> layers;

  @BeforeAll
  static void load() throws IOException {
    layers = RealAdapterFixture.loadAll(RealAdapterFixture.adaptersRoot());
  }

  static List<RealAdapterFixture.Layer> denseSample() {
    long maxCost = Long.getLong("loraquant.reference.maxCost", DEFAULT_MAX_COST);
    boolean all = "all".equals(System.getProperty("loraquant.reference.layers"));
    Map<String, RealAdapterFixture.Layer> smallest = new LinkedHashMap<>();
    List<RealAdapterFixture.Layer> every = new ArrayList<>();
    for (RealAdapterFixture.Layer layer : layers) {
      if (cost(layer) <= maxCost) {
        every.add(layer);
        smallest.merge(layer.adapter(), layer, (a, b) -> cost(b) < cost(a) ? b : a);
      }
    }
    return all ? every : new ArrayList<>(smallest.values());
  }

  private static long cost(RealAdapterFixture.Layer layer) {
    long m = layer.factors().m();
    long n = layer.factors().n();
    return m * n * Math.min(m, n);
  }

  @Test
  void splitPayloadAndErrorMatchTheReference() {
    CodecSettings settings = CodecSettings.defaults().withSplitRule(SplitRule.REFERENCE);
    LinearAlgebra linalg = LinearAlgebra.current();
    List<RealAdapterFixture.Layer> sample = denseSample();
    assertThat(sample).hasSizeGreaterThanOrEqualTo(15);
    for (RealAdapterFixture.Layer layer : sample) {
      LayerStats stats = LoraQuantCodec.compress(layer.factors(), settings, linalg).stats();
      ReferenceLoraQuant.Result ref = ReferenceLoraQuant.run(layer.factors(), settings.rho(),
          settings.bitsHigh(), settings.groupSize(), linalg);
      assertThat(stats.k()).as("k of %s", layer).isEqualTo(ref.k());
      assertThat(stats.h()).as("h of %s", layer).isEqualTo(ref.h());
      assertThat(stats.payloadBits()).as("payload bits of %s", layer).isEqualTo(ref.payloadBits());
      assertThat(stats.relError()).as("relative error of %s", layer)
          .isCloseTo(ref.relError(), within(0.01 * ref.relError() + 1e-9));
    }
  }

  @Test
  void everyLayerCompressesAndItsErrorMatchesTheFactorGramForm() {
    LinearAlgebra linalg = LinearAlgebra.current();
    CodecSettings settings = CodecSettings.defaults();
    for (RealAdapterFixture.Layer layer : layers) {
      CompressedLayerResult result = LoraQuantCodec.compress(layer.factors(), settings, linalg);
      double fromFactors = FactorGramError.relative(layer.factors(),
          LoraQuantCodec.decode(result.layer()));
      assertThat(result.stats().relError()).as("relative error of %s", layer)
          .isCloseTo(fromFactors, within(1e-6 + 1e-6 * fromFactors));
      assertThat(result.stats().relError()).as("relative error of %s", layer).isBetween(0.0, 1.0);
    }
  }
}
