package org.loraquant.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.loraquant.testing.ByteRange;
import org.loraquant.testing.BytesInputFile;

class ChunkedInputFileTest {
  private static final String FILE = "mem/f";

  @Test
  void adjacentAndNearlyAdjacentSpansMergeUpToTheReadSize() {
    long gap = ByteSpan.MAX_GAP_READ_THROUGH;
    List<ByteSpan> spans =
        List.of(
            new ByteSpan(100, 200),
            new ByteSpan(0, 100), // adjacent, given out of order
            new ByteSpan(200 + gap, 300 + gap), // a gap read through
            new ByteSpan(301 + 2 * gap, 400 + 2 * gap)); // one byte too far
    assertThat(ByteSpan.merge(spans, Long.MAX_VALUE))
        .containsExactly(new ByteSpan(0, 300 + gap), new ByteSpan(301 + 2 * gap, 400 + 2 * gap));
    // The read size bounds a merged read; a single longer span stays whole.
    assertThat(ByteSpan.merge(List.of(new ByteSpan(0, 60), new ByteSpan(60, 120)), 100))
        .containsExactly(new ByteSpan(0, 60), new ByteSpan(60, 120));
    assertThat(ByteSpan.merge(List.of(new ByteSpan(0, 500)), 100))
        .containsExactly(new ByteSpan(0, 500));
    assertThat(ByteSpan.merge(List.of(), 100)).isEmpty();
  }

  @Test
  void readsInsideAChunkCostOneReadOfTheChunkAndReturnTheSameBytes() throws IOException {
    byte[] bytes = new byte[1000];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (i * 31);
    }
    BytesInputFile file = new BytesInputFile(FILE, bytes);
    ChunkedInputFile chunked =
        new ChunkedInputFile(file, List.of(new ByteSpan(0, 400), new ByteSpan(500, 900)));

    assertThat(chunked.read(10, 20)).isEqualTo(slice(bytes, 10, 20));
    assertThat(chunked.read(390, 10)).isEqualTo(slice(bytes, 390, 10));
    assertThat(chunked.read(600, 300)).isEqualTo(slice(bytes, 600, 300));
    assertThat(chunked.read(950, 50)).isEqualTo(slice(bytes, 950, 50)); // outside every chunk
    assertThat(chunked.read(395, 10)).isEqualTo(slice(bytes, 395, 10)); // across chunk borders

    assertThat(file.reads())
        .containsExactly(
            new ByteRange(FILE, 0, 400),
            new ByteRange(FILE, 500, 400),
            new ByteRange(FILE, 950, 50),
            new ByteRange(FILE, 395, 10));
  }

  private static byte[] slice(byte[] bytes, int from, int length) {
    return java.util.Arrays.copyOfRange(bytes, from, from + length);
  }
}
