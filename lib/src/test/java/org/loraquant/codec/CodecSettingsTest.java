package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class CodecSettingsTest {
  @Test
  void defaultsFollowThePaper() {
    CodecSettings d = CodecSettings.defaults();
    assertThat(d.rho()).isEqualTo(0.8);
    assertThat(d.bitsHigh()).isEqualTo(2);
    assertThat(d.groupSize()).isEqualTo(128);
    assertThat(d.splitRule()).isEqualTo(SplitRule.PREFIX);
    assertThat(d.refinement()).isEqualTo(Refinement.NONE);
  }

  @Test
  void invalidValuesAreRejectedByName() {
    CodecSettings d = CodecSettings.defaults();
    assertThatThrownBy(() -> d.withRho(0)).hasMessageContaining("rho: 0.0");
    assertThatThrownBy(() -> d.withRho(1.5)).hasMessageContaining("rho: 1.5");
    assertThatThrownBy(() -> d.withRho(Double.NaN)).hasMessageContaining("rho: NaN");
    assertThatThrownBy(() -> d.withBitsHigh(0)).hasMessageContaining("bits_high: 0");
    assertThatThrownBy(() -> d.withBitsHigh(9)).hasMessageContaining("bits_high: 9");
    assertThatThrownBy(() -> d.withGroupSize(0)).hasMessageContaining("group size: 0");
    assertThatThrownBy(() -> d.withSplitRule(null)).hasMessageContaining("split rule: null");
    assertThatThrownBy(() -> d.withRefinement(null)).hasMessageContaining("refinement: null");
    assertThat(d.withRho(1.0).rho()).isEqualTo(1.0);
  }

  @Test
  void fingerprintIsCanonicalAndCoversEveryField() {
    Locale saved = Locale.getDefault();
    try {
      Locale.setDefault(Locale.GERMANY); // decimal comma must not leak in
      assertThat(CodecSettings.defaults().fingerprint())
          .isEqualTo("loraquant-codec/1;rho=0.8;split=PREFIX;bits_high=2;group=128;refine=NONE");
    } finally {
      Locale.setDefault(saved);
    }
    CodecSettings d = CodecSettings.defaults();
    assertThat(d.withRho(0.80).fingerprint()).isEqualTo(d.fingerprint());
    assertThat(d.withRho(1).fingerprint()).contains("rho=1;");
    assertThat(java.util.List.of(d.withRho(0.9), d.withSplitRule(SplitRule.REFERENCE),
            d.withBitsHigh(3), d.withGroupSize(64), d.withRefinement(Refinement.SEARCH)))
        .extracting(CodecSettings::fingerprint)
        .doesNotContain(d.fingerprint())
        .doesNotHaveDuplicates();
  }

  @Test
  void splitRules() {
    double[] s = {3, 2, 1}; // energy shares 9/14, 13/14, 14/14
    assertThat(SplitRule.PREFIX.splitPoint(s, 0.8)).isEqualTo(2);
    assertThat(SplitRule.REFERENCE.splitPoint(s, 0.8)).isEqualTo(1);
    assertThat(SplitRule.PREFIX.splitPoint(s, 0.5)).isEqualTo(1);
    assertThat(SplitRule.REFERENCE.splitPoint(s, 0.5)).isEqualTo(1);
    assertThat(SplitRule.PREFIX.splitPoint(s, 1.0)).isEqualTo(3);
    assertThat(SplitRule.REFERENCE.splitPoint(s, 1.0)).isEqualTo(2);
    assertThat(SplitRule.PREFIX.splitPoint(new double[] {0, 0}, 0.8)).isEqualTo(1);
    assertThat(SplitRule.REFERENCE.splitPoint(new double[] {0, 0}, 0.8)).isEqualTo(1);
    assertThat(SplitRule.REFERENCE.splitPoint(new double[] {5}, 0.8)).isEqualTo(1);
    assertThat(SplitRule.PREFIX.splitPoint(new double[0], 0.8)).isZero();
  }

  @Test
  void tierPlanCoversAllComponentsAndOmitsEmptyTiers() {
    CodecSettings d = CodecSettings.defaults().withBitsHigh(3);
    TierPlan plan = d.tierPlan(new double[] {3, 2, 1});
    assertThat(plan.h()).isEqualTo(2);
    assertThat(plan.tiers()).containsExactly(new TierSpec(3, 0, 2), new TierSpec(1, 2, 1));
    assertThat(d.withRho(1).tierPlan(new double[] {3, 2, 1}).tiers())
        .containsExactly(new TierSpec(3, 0, 3));
    assertThat(d.tierPlan(new double[0]).tiers()).isEmpty();
  }

  @Test
  void survivesJavaSerialization() throws Exception {
    CodecSettings s = CodecSettings.defaults().withRefinement(Refinement.SEARCH).withRho(0.9);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(s);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      assertThat(in.readObject()).isEqualTo(s);
    }
  }
}
