package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BitPackingTest {
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
  void roundTripsEveryWidthAndOddCounts(int bits) {
    Random random = new Random(bits);
    for (int count : new int[] {0, 1, 7, 8, 9, 129, 1000}) {
      byte[] codes = new byte[count];
      for (int i = 0; i < count; i++) {
        codes[i] = (byte) random.nextInt(1 << bits);
      }
      byte[] packed = BitPacking.pack(codes, count, bits);
      assertThat(packed).hasSize((count * bits + 7) / 8);
      assertThat(BitPacking.unpack(packed, count, bits)).containsExactly(codes);
    }
  }

  @Test
  void layoutIsLsbFirst() {
    // 2-bit codes 1, 2, 3, 0 | 1 -> byte 0 = 0b00_11_10_01, byte 1 = 0b01 (zero padded)
    byte[] packed = BitPacking.pack(new byte[] {1, 2, 3, 0, 1}, 5, 2);
    assertThat(packed).containsExactly((byte) 0b00111001, (byte) 0b01);
    // 3-bit codes 5, 6, 7 at bits 0-2, 3-5, 6-8: byte 0 = 0b11_110_101, byte 1 = the top bit of 7
    assertThat(BitPacking.pack(new byte[] {5, 6, 7}, 3, 3))
        .containsExactly((byte) 0b11110101, (byte) 0b1);
    // 1-bit codes fill a byte from bit 0
    assertThat(BitPacking.pack(new byte[] {1, 0, 0, 0, 0, 0, 0, 1, 1}, 9, 1))
        .containsExactly((byte) 0x81, (byte) 0x01);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void wholeBytePathsAgreeWithBitByBitPackingOnEveryPattern(int bits) {
    // Every byte value as a run of codes: 256 runs of 8 / bits codes, plus a tail.
    int perByte = 8 / bits;
    int count = 256 * perByte + 3;
    byte[] codes = new byte[count];
    for (int b = 0; b < 256; b++) {
      for (int i = 0; i < perByte; i++) {
        codes[b * perByte + i] = (byte) ((b >>> (i * bits)) & ((1 << bits) - 1));
      }
    }
    byte[] expected = new byte[(count * bits + 7) / 8];
    for (int i = 0; i < count; i++) {
      for (int bit = 0; bit < bits; bit++) {
        if ((codes[i] >>> bit & 1) != 0) {
          int position = i * bits + bit;
          expected[position / 8] |= (byte) (1 << (position % 8));
        }
      }
    }
    assertThat(BitPacking.pack(codes, count, bits)).containsExactly(expected);
  }
}
