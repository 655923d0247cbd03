package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GroupGeometryTest {
  @Test
  void lengthThatGroupsDivideHasNoShortTail() {
    GroupGeometry g = new GroupGeometry(2, 128, 3, 256);
    assertThat(g.groupsPerVector()).isEqualTo(2);
    assertThat(g.groups()).isEqualTo(6);
    assertThat(g.tailGroupLength()).isEqualTo(128);
    assertThat(g.codesBytes()).isEqualTo(3 * 256 * 2 / 8);
  }

  @Test
  void tailGroupHoldsTheRemainder() {
    GroupGeometry g = new GroupGeometry(3, 128, 2, 257);
    assertThat(g.groupsPerVector()).isEqualTo(3);
    assertThat(g.groupStart(2)).isEqualTo(256);
    assertThat(g.groupLength(1)).isEqualTo(128);
    assertThat(g.groupLength(2)).isEqualTo(1);
    assertThat(g.tailGroupLength()).isEqualTo(1);
    assertThat(g.groupOf(255)).isEqualTo(1);
    assertThat(g.groupOf(256)).isEqualTo(2);
  }

  @Test
  void codesArePackedWithoutPaddingBetweenVectors() {
    // 3 vectors of 5 values at 3 bits: 45 bits, one padded byte at the end only.
    GroupGeometry g = new GroupGeometry(3, 4, 3, 5);
    assertThat(g.codeBits()).isEqualTo(45);
    assertThat(g.codesBytes()).isEqualTo(6);
    byte[] codes = new byte[15];
    for (int i = 0; i < codes.length; i++) {
      codes[i] = (byte) (i % 8);
    }
    byte[] packed = BitPacking.pack(codes, 0, g);
    assertThat((long) packed.length).isEqualTo(g.codesBytes());
    assertThat(BitPacking.unpack(packed, g)).containsExactly(codes);
  }

  @Test
  void groupLargerThanTheVectorIsOneShortGroup() {
    GroupGeometry g = new GroupGeometry(1, 128, 4, 5);
    assertThat(g.groupsPerVector()).isEqualTo(1);
    assertThat(g.tailGroupLength()).isEqualTo(5);
    assertThat(g.codesBytes()).isEqualTo(3);
  }

  @Test
  void countsDoNotOverflowForSizesReadFromAFile() {
    assertThat(GroupGeometry.groupsPerVector(Integer.MAX_VALUE, 128))
        .isEqualTo((Integer.MAX_VALUE / 128) + 1);
    GroupGeometry g = new GroupGeometry(8, 1, 1 << 20, 1 << 20);
    assertThat(g.codesBytes()).isEqualTo(1L << 40);
  }

  @Test
  void emptyVectorsHaveNoGroups() {
    GroupGeometry g = new GroupGeometry(4, 16, 0, 10);
    assertThat(g.groups()).isZero();
    assertThat(g.codesBytes()).isZero();
    assertThat(new GroupGeometry(4, 16, 2, 0).tailGroupLength()).isZero();
  }

  @Test
  void rejectsImpossibleShapes() {
    assertThatThrownBy(() -> new GroupGeometry(0, 8, 1, 1)).hasMessageContaining("bits must be 1..8");
    assertThatThrownBy(() -> new GroupGeometry(9, 8, 1, 1)).hasMessageContaining("bits must be 1..8");
    assertThatThrownBy(() -> new GroupGeometry(2, 0, 1, 1)).hasMessageContaining("group size");
    assertThatThrownBy(() -> new GroupGeometry(2, 8, -1, 1)).hasMessageContaining("negative");
  }

  @Test
  void packedGroupsReportTheirGeometry() {
    PackedGroups p = new PackedGroups(2, 4, 2, 5, new byte[3], new short[4], new byte[4]);
    assertThat(p.geometry()).isEqualTo(new GroupGeometry(2, 4, 2, 5));
  }
}
