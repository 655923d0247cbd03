package org.loraquant.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.loraquant.testing.ByteRange;
import org.loraquant.testing.BytesInputFile;

/**
 * Ranges read by one reader serve another (after serialisation, as between a layer task and
 * assembly) without a read; reads outside them go to the file.
 */
class HeldRangesTest {
  private static final String FILE = "mem/f";

  @Test
  void readsInsideAHeldRangeCostNothingAfterTheTripAndOthersGoToTheFile() throws Exception {
    byte[] bytes = new byte[1000];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (i * 7);
    }
    BytesInputFile first = new BytesInputFile(FILE, bytes);
    HeldRanges held =
        HeldRanges.read(first, List.of(new ByteSpan(100, 200), new ByteSpan(600, 650)));
    assertThat(first.reads())
        .containsExactly(new ByteRange(FILE, 100, 100), new ByteRange(FILE, 600, 50));
    assertThat(held.heldBytes()).isEqualTo(150);

    HeldRanges travelled = roundTrip(held);
    BytesInputFile second = new BytesInputFile(FILE, bytes);
    InputFile over = travelled.over(second);

    assertThat(over.read(100, 100)).isEqualTo(Arrays.copyOfRange(bytes, 100, 200));
    assertThat(over.read(610, 20)).isEqualTo(Arrays.copyOfRange(bytes, 610, 630));
    assertThat(second.reads()).isEmpty();
    assertThat(over.read(190, 20)).isEqualTo(Arrays.copyOfRange(bytes, 190, 210)); // past one
    assertThat(over.read(0, 10)).isEqualTo(Arrays.copyOfRange(bytes, 0, 10));
    assertThat(second.reads())
        .containsExactly(new ByteRange(FILE, 190, 20), new ByteRange(FILE, 0, 10));
    assertThat(HeldRanges.NONE.over(second).read(100, 1)).containsExactly(bytes[100]);
    assertThat(over.length()).isEqualTo(1000);
    assertThat(over.location()).isEqualTo(FILE);
  }

  private static HeldRanges roundTrip(HeldRanges held) throws IOException, ClassNotFoundException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ObjectOutputStream o = new ObjectOutputStream(out)) {
      o.writeObject(held);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(out.toByteArray()))) {
      return (HeldRanges) in.readObject();
    }
  }
}
