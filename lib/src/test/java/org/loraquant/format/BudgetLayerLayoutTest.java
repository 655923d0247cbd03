package org.loraquant.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.loraquant.codec.BudgetCodec;
import org.loraquant.codec.BudgetLayer;
import org.loraquant.codec.BudgetLayerResult;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.DecodedLayer;
import org.loraquant.codec.GroupGeometry;
import org.loraquant.codec.LevelFamily;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.PackedGroups;
import org.loraquant.codec.VectorCode;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.linalg.LinearAlgebra;

class BudgetLayerLayoutTest {
  private static final String MODULE = "base_model.model.layers.0.q_proj";
  private static final String FILE = "loraquant_model.safetensors";

  /** Every width 0..8, tail groups (37 = 4 x 8 + 5, 23 = 2 x 8 + 7), random codes and scales. */
  private static BudgetLayer handMade(LevelFamily levels) {
    int[] widths = {3, 0, 1, 8, 2, 5, 0, 4, 6, 7};
    int m = 37;
    int n = 23;
    Random random = new Random(levels.id());
    VectorCode[] b = new VectorCode[widths.length];
    VectorCode[] a = new VectorCode[widths.length];
    for (int i = 0; i < widths.length; i++) {
      if (widths[i] > 0) {
        b[i] = randomCode(random, widths[i], m, levels);
        a[i] = randomCode(random, widths[i], n, levels);
      }
    }
    return new BudgetLayer(m, n, 12, levels, 8, widths, b, a);
  }

  private static VectorCode randomCode(Random random, int bits, int length, LevelFamily levels) {
    int groups = GroupGeometry.groupsPerVector(length, 8);
    byte[] codes = new byte[length];
    for (int j = 0; j < length; j++) {
      codes[j] = (byte) random.nextInt(1 << bits);
    }
    short[] scales = new short[groups];
    for (int g = 0; g < groups; g++) {
      scales[g] = (short) (0x1c00 + random.nextInt(0x800)); // normal binary16 in [2^-8, 2^-6)
    }
    byte[] zeros = new byte[levels.hasZeroPoints(bits) ? groups : 0];
    for (int g = 0; g < zeros.length; g++) {
      zeros[g] = (byte) random.nextInt(1 << bits);
    }
    return new VectorCode(bits, codes, scales, zeros);
  }

  private static Map<String, NamedTensor> byName(List<NamedTensor> tensors) {
    Map<String, NamedTensor> map = new HashMap<>();
    for (NamedTensor t : tensors) {
      map.put(t.name(), t);
    }
    return map;
  }

  private static void assertSameDecode(BudgetLayer expected, BudgetLayer actual) {
    DecodedLayer x = expected.decode();
    DecodedLayer y = actual.decode();
    assertThat(y.b()).containsExactly(x.b());
    assertThat(y.a()).containsExactly(x.a());
    assertThat(actual.widths()).containsExactly(expected.widths());
    assertThat(actual.levels()).isEqualTo(expected.levels());
  }

  @ParameterizedTest
  @EnumSource(LevelFamily.class)
  void roundTripsEveryWidthDroppedComponentsAndTailGroups(LevelFamily levels) {
    BudgetLayer layer = handMade(levels);
    List<NamedTensor> tensors = BudgetLayerLayout.toTensors(MODULE, layer);
    BudgetLayer back = BudgetLayerLayout.fromTensors(MODULE, byName(tensors)::get, FILE);
    assertSameDecode(layer, back);
    for (int i = 0; i < layer.k(); i++) {
      if (layer.widths()[i] > 0) {
        assertThat(back.b()[i].codes()).containsExactly(layer.b()[i].codes());
        assertThat(back.a()[i].scales()).containsExactly(layer.a()[i].scales());
        assertThat(back.a()[i].zeros()).containsExactly(layer.a()[i].zeros());
      }
    }
    // 3+1+8+2+5+4+6+7 = 36 bits per value of each kept vector.
    assertThat(byName(tensors).get(MODULE + ".lq.b.codes").data()).hasSize((37 * 36 + 7) / 8);
    assertThat(byName(tensors).containsKey(MODULE + ".lq.b.zeros"))
        .isEqualTo(levels == LevelFamily.UNIFORM);
  }

  @Test
  void roundTripsWhatTheCodecStoresAndCostsNoMoreThanItCharged() {
    LinearAlgebra linalg = LinearAlgebra.javaOnly();
    Random random = new Random(3);
    float[] bf = new float[300 * 8];
    float[] af = new float[8 * 130];
    for (int i = 0; i < bf.length; i++) {
      bf[i] = (float) (0.01 * random.nextGaussian() * Math.pow(0.6, i % 8));
    }
    for (int i = 0; i < af.length; i++) {
      af[i] = (float) (0.05 * random.nextGaussian());
    }
    LoraFactors f = new LoraFactors(300, 130, 8, bf, af);
    for (double budget : new double[] {0.8, 2.5, 9}) {
      for (LevelFamily levels : LevelFamily.values()) {
        BudgetLayerResult r = BudgetCodec.compress(List.of(f),
            BudgetSettings.of(budget).withLevels(levels), linalg).get(0);
        List<NamedTensor> tensors = BudgetLayerLayout.toTensors(MODULE, r.layer());
        BudgetLayer back = BudgetLayerLayout.fromTensors(MODULE, byName(tensors)::get, FILE);
        assertSameDecode(r.layer(), back);
        assertThat(8 * BudgetLayerLayout.storedBytes(MODULE, r.layer()))
            .isLessThanOrEqualTo(r.stats().storedBits());
      }
    }
  }

  @Test
  void theSameInputGivesTheSameBytes() {
    LinearAlgebra linalg = LinearAlgebra.javaOnly();
    Random random = new Random(5);
    float[] bf = new float[200 * 6];
    float[] af = new float[6 * 90];
    for (int i = 0; i < bf.length; i++) {
      bf[i] = (float) (0.01 * random.nextGaussian());
    }
    for (int i = 0; i < af.length; i++) {
      af[i] = (float) (0.05 * random.nextGaussian() * Math.pow(0.5, i / 90));
    }
    LoraFactors f = new LoraFactors(200, 90, 6, bf, af);
    BudgetSettings settings = BudgetSettings.of(1.7);
    List<NamedTensor> first = BudgetLayerLayout.toTensors(MODULE,
        BudgetCodec.compress(List.of(f), settings, linalg).get(0).layer());
    List<NamedTensor> second = BudgetLayerLayout.toTensors(MODULE,
        BudgetCodec.compress(List.of(f), settings, linalg).get(0).layer());
    assertThat(second).containsExactlyElementsOf(first); // NamedTensor equality compares bytes
  }

  @Test
  void aFlippedCodeByteIsRefusedWithTheLayersName() {
    List<NamedTensor> tensors = BudgetLayerLayout.toTensors(MODULE, handMade(LevelFamily.LLOYD_MAX));
    Map<String, NamedTensor> map = byName(tensors);
    NamedTensor codes = map.get(MODULE + ".lq.a.codes");
    byte[] damaged = codes.data().clone();
    damaged[5] ^= 0x10;
    map.put(codes.name(), new NamedTensor(codes.name(), codes.dtype(), codes.shape(), damaged));
    assertThatThrownBy(() -> BudgetLayerLayout.fromTensors(MODULE, map::get, FILE))
        .isInstanceOf(InvalidAdapterException.class)
        .hasMessageContaining(FILE)
        .hasMessageContaining(MODULE + ".lq.crc")
        .hasMessageContaining("CRC-32C mismatch");
  }

  @Test
  void inconsistentTensorsAreRefused() {
    Map<String, NamedTensor> good =
        byName(BudgetLayerLayout.toTensors(MODULE, handMade(LevelFamily.UNIFORM)));

    Map<String, NamedTensor> wide = new HashMap<>(good);
    byte[] widths = good.get(MODULE + ".lq.widths").data().clone();
    widths[1] = 9;
    wide.put(MODULE + ".lq.widths", new NamedTensor(MODULE + ".lq.widths",
        org.loraquant.safetensors.DType.U8, new long[] {widths.length}, widths));
    assertThatThrownBy(() -> BudgetLayerLayout.fromTensors(MODULE, wide::get, FILE))
        .isInstanceOf(InvalidAdapterException.class).hasMessageContaining("width 9");

    Map<String, NamedTensor> family = new HashMap<>(good);
    byte[] meta = good.get(MODULE + ".lq.meta2").data().clone();
    ByteBuffer.wrap(meta).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 0);
    family.put(MODULE + ".lq.meta2", new NamedTensor(MODULE + ".lq.meta2",
        org.loraquant.safetensors.DType.I32, new long[] {6}, meta));
    assertThatThrownBy(() -> BudgetLayerLayout.fromTensors(MODULE, family::get, FILE))
        .isInstanceOf(InvalidAdapterException.class).hasMessageContaining("level family id 0");

    Map<String, NamedTensor> noCrc = new HashMap<>(good);
    noCrc.remove(MODULE + ".lq.crc");
    assertThatThrownBy(() -> BudgetLayerLayout.fromTensors(MODULE, noCrc::get, FILE))
        .isInstanceOf(InvalidAdapterException.class).hasMessageContaining("missing");

    Map<String, NamedTensor> shortCodes = new HashMap<>(good);
    NamedTensor codes = good.get(MODULE + ".lq.b.codes");
    byte[] cut = java.util.Arrays.copyOf(codes.data(), codes.data().length - 1);
    shortCodes.put(codes.name(), new NamedTensor(codes.name(), codes.dtype(),
        new long[] {cut.length}, cut));
    assertThatThrownBy(() -> BudgetLayerLayout.fromTensors(MODULE, shortCodes::get, FILE))
        .isInstanceOf(InvalidAdapterException.class).hasMessageContaining(MODULE + ".lq.b.codes");
  }
}
