package org.loraquant.linalg;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The canonical sign rule: the sign of the first entry of largest magnitude in a range. */
class ThinSvdTest {
  @Test
  void largestEntryDecidesWithinTheRangeOnly() {
    double[] x = {-9, 1, -3, 2, 7};
    assertThat(ThinSvd.largestEntryIsNegative(x, 1, 3)).isTrue(); // -3 among 1, -3, 2
    assertThat(ThinSvd.largestEntryIsNegative(x, 1, 4)).isFalse(); // 7
    assertThat(ThinSvd.largestEntryIsNegative(x, 0, 5)).isTrue(); // -9
  }

  @Test
  void firstEntryWinsATie() {
    assertThat(ThinSvd.largestEntryIsNegative(new double[] {1, -4, 4, -4}, 0, 4)).isTrue();
    assertThat(ThinSvd.largestEntryIsNegative(new double[] {1, 4, -4, 4}, 0, 4)).isFalse();
  }

  @Test
  void zerosEmptyRangesAndNegativeZeroCountAsPositive() {
    assertThat(ThinSvd.largestEntryIsNegative(new double[] {0, -0.0, 0}, 0, 3)).isFalse();
    assertThat(ThinSvd.largestEntryIsNegative(new double[] {-0.0}, 0, 1)).isFalse();
    assertThat(ThinSvd.largestEntryIsNegative(new double[] {-5}, 1, 0)).isFalse();
  }

  @Test
  void longIncreasingAndDecreasingRuns() {
    double[] up = new double[5000];
    double[] down = new double[5000];
    for (int i = 0; i < up.length; i++) {
      up[i] = (i % 2 == 0 ? 1 : -1) * (i + 1.0);
      down[i] = (i % 2 == 0 ? -1 : 1) * (up.length - i);
    }
    assertThat(ThinSvd.largestEntryIsNegative(up, 0, up.length)).isTrue(); // -5000 last
    assertThat(ThinSvd.largestEntryIsNegative(down, 0, down.length)).isTrue(); // -5000 first
  }
}
