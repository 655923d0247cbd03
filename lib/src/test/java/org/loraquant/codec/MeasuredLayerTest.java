package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.loraquant.format.BudgetLayerLayout;
import org.loraquant.format.NamedTensor;
import org.loraquant.linalg.LinearAlgebra;

/**
 * The fleet scope's one-read path: a layer measured once ({@link MeasuredLayer}, persisted by the
 * job between the allocation and the encoding, holding its factors and decomposing them again to
 * encode) encodes to the same bytes as the two-step path from its factors, and holds them in 2
 * bytes a value when they came from bfloat16 or float16.
 */
class MeasuredLayerTest {
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();

  /**
   * Tall, wide, square, a rank above both sides (fewer components than r), 1 x 1, rank-deficient,
   * all zero, and factors that came from bfloat16 and float16 tensors (the last two).
   */
  private static List<LoraFactors> layers() {
    List<LoraFactors> layers = new ArrayList<>(List.of(
        TestFactors.decaying(1, 300, 40, 8), TestFactors.gaussian(2, 33, 257, 5),
        TestFactors.decaying(3, 64, 64, 16), TestFactors.gaussian(4, 6, 9, 12),
        TestFactors.decaying(5, 1, 1, 1)));
    // Rank 4 with two equal columns of B and rows of A: rank-deficient, the Householder route.
    LoraFactors f = TestFactors.gaussian(6, 50, 30, 4);
    for (int i = 0; i < f.m(); i++) {
      f.b()[i * 4 + 3] = f.b()[i * 4 + 2];
    }
    System.arraycopy(f.a(), 2 * f.n(), f.a(), 3 * f.n(), f.n());
    layers.add(f);
    layers.add(new LoraFactors(20, 24, 3, new float[60], new float[72]));
    layers.add(CompactFactorsTest.rounded(TestFactors.decaying(8, 120, 72, 10),
        CompactFactorsTest::bfloat16, CompactFactorsTest::bfloat16));
    layers.add(CompactFactorsTest.rounded(TestFactors.gaussian(9, 48, 96, 7),
        CompactFactorsTest::float16, CompactFactorsTest::float16));
    return layers;
  }

  /** Bytes a value {@link MeasuredLayer} holds of each of {@link #layers}: float32 but the last 3. */
  private static int bytesPerValue(int layer, int layers) {
    return layer >= layers - 3 ? 2 : 4;
  }

  @ParameterizedTest
  @EnumSource(LevelFamily.class)
  void encodingTheMeasuredLayerStoresTheBytesOfEncodingItsFactors(LevelFamily levels)
      throws Exception {
    BudgetSettings settings = BudgetSettings.of(2.5).withScope(BudgetScope.FLEET)
        .withLevels(levels).withGroupSize(16);
    List<LoraFactors> layers = layers();
    List<RateDistortionTable> tables = new ArrayList<>();
    long params = 0;
    for (LoraFactors f : layers) {
      tables.add(BudgetCodec.measure(f, settings, LINALG));
      params += (long) f.r() * (f.m() + f.n());
    }
    int[][] widths = BitAllocator.allocate(tables, settings.budgetBitsFor(params));
    for (int l = 0; l < layers.size(); l++) {
      LoraFactors f = layers.get(l);
      String module = "m" + l;
      MeasuredLayer measured =
          roundTrip(BudgetCodec.measureForEncoding("a", module, f, settings, LINALG));
      assertThat(measured.fleetLayer())
          .isEqualTo(FleetLayer.measure("a", module, f, levels, 16, LINALG));
      assertThat(measured.factorBytes()).as(module)
          .isEqualTo((long) bytesPerValue(l, layers.size()) * f.r() * (f.m() + f.n()));
      assertThat(measured.fleetLayer().minimumBits()).as(module)
          .isEqualTo(FleetLayer.smallestStorableBits(
              List.of(new FleetLayer.Shape(f.m(), f.n(), f.r())), levels, 16));

      BudgetLayerResult expected =
          BudgetCodec.encode(f, tables.get(l), widths[l], settings, LINALG);
      BudgetLayerResult actual = BudgetCodec.encode(measured, widths[l], settings, LINALG);
      assertThat(bytes(module, actual.layer())).as(module)
          .isEqualTo(bytes(module, expected.layer()));
      assertThat(actual.stats()).usingRecursiveComparison().ignoringFields("nanos")
          .isEqualTo(expected.stats());
      assertThat(actual.stats().nanos()).isGreaterThanOrEqualTo(measured.nanos());
    }
  }

  @ParameterizedTest
  @EnumSource(LevelFamily.class)
  void otherLevelsOrGroupsOrWidthsAreRefused(LevelFamily levels) {
    BudgetSettings settings = BudgetSettings.of(3).withScope(BudgetScope.FLEET).withLevels(levels);
    MeasuredLayer measured = BudgetCodec.measureForEncoding("a", "q", TestFactors.decaying(7, 40,
        30, 3), settings, LINALG);
    LevelFamily other = levels == LevelFamily.UNIFORM ? LevelFamily.LLOYD_MAX : LevelFamily.UNIFORM;
    int[] widths = {2, 2, 2};
    assertThatThrownBy(() -> BudgetCodec.encode(measured, widths, settings.withLevels(other),
        LINALG)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("a:q");
    assertThatThrownBy(() -> BudgetCodec.encode(measured, widths, settings.withGroupSize(64),
        LINALG)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("group 64");
    assertThatThrownBy(() -> BudgetCodec.encode(measured, new int[] {2, 2}, settings, LINALG))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 widths for 3");
  }

  /** Every stored tensor of the layer, name and bytes. */
  private static List<String> bytes(String module, BudgetLayer layer) {
    List<String> out = new ArrayList<>();
    for (NamedTensor t : BudgetLayerLayout.toTensors(module, layer)) {
      out.add(t.name() + " " + t.dtype() + " " + java.util.Arrays.toString(t.shape()) + " "
          + java.util.HexFormat.of().formatHex(t.data()));
    }
    return out;
  }

  /** Through Java serialisation, as a persisted partition that spilled to disk. */
  private static MeasuredLayer roundTrip(MeasuredLayer layer) throws IOException,
      ClassNotFoundException {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(buffer)) {
      out.writeObject(layer);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(buffer.toByteArray()))) {
      return (MeasuredLayer) in.readObject();
    }
  }
}
