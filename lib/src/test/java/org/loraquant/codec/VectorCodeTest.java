package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class VectorCodeTest {
  /**
   * The check reads the codes eight at a time and the rest one by one: a code one too wide is
   * refused, named, at every position of either part, at every width, and the widest code that
   * fits is accepted everywhere.
   */
  @Test
  void aCodeTooWideForItsBitsIsRefusedWhereverItStands() {
    for (int bits = 1; bits <= 8; bits++) {
      int widest = (1 << bits) - 1;
      for (int len = 0; len <= 27; len++) {
        byte[] codes = new byte[len];
        Arrays.fill(codes, (byte) widest);
        int fits = bits;
        assertThatCode(() -> new VectorCode(fits, codes.clone(), new short[1], new byte[0]))
            .doesNotThrowAnyException();
        if (bits == 8) {
          continue; // every byte fits 8 bits
        }
        for (int at = 0; at < len; at++) {
          byte[] bad = codes.clone();
          bad[at] = (byte) (widest + 1);
          assertThatThrownBy(() -> new VectorCode(fits, bad, new short[1], new byte[0]))
              .isInstanceOf(IllegalArgumentException.class)
              .hasMessage("code " + (widest + 1) + " does not fit " + fits + " bits");
        }
      }
    }
  }
}
