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
 * <p>The dense reference costs O(m n min(m, n)) per layer (seconds with pure-Java LAPACK), so by
 * default it runs on the smallest layer of each adapter; {@code -Dloraquant.reference.allLayers=true}
 * runs every layer. The cheap check (error from the original factors' Gram matrices) runs on every
 * layer.
 */
class ReferenceAgreementTest {
  private static List<RealAdapterFixture.Layer> layers;

  @BeforeAll
  static void load() throws IOException {
    layers = RealAdapterFixture.loadAll(RealAdapterFixture.adaptersRoot());
  }

  static List<RealAdapterFixture.Layer> denseSample() {
    if (Boolean.getBoolean("loraquant.reference.allLayers")) {
      return layers;
    }
    Map<String, RealAdapterFixture.Layer> smallest = new LinkedHashMap<>();
    for (RealAdapterFixture.Layer layer : layers) {
      smallest.merge(layer.adapter(), layer,
          (a, b) -> entries(b) < entries(a) ? b : a);
    }
    return new ArrayList<>(smallest.values());
  }

  private static long entries(RealAdapterFixture.Layer layer) {
    return (long) layer.factors().m() * layer.factors().n();
  }

  @Test
  void splitPayloadAndErrorMatchTheReference() {
    CodecSettings settings = CodecSettings.defaults().withSplitRule(SplitRule.REFERENCE);
    LinearAlgebra linalg = LinearAlgebra.current();
    List<RealAdapterFixture.Layer> sample = denseSample();
    assertThat(sample).hasSizeGreaterThan(20);
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
