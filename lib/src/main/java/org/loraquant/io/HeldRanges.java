package org.loraquant.io;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;

/**
 * Byte ranges of a file that one reader has read, kept so that a reader elsewhere (another stage,
 * another machine) gets them without a request: {@link #over} serves reads that fall inside a held
 * range from these bytes and sends the others to the file. The job's layer task, having read a
 * small adapter whole, hands its pass-through tensors to assembly this way, so no byte of the file
 * is read twice.
 *
 * <p>Serialisable; holds what it was given, so it is meant for small ranges.
 */
public final class HeldRanges implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Nothing held: every read goes to the file. */
  public static final HeldRanges NONE = new HeldRanges(new long[0], new byte[0][]);

  private final long[] begins;
  private final byte[][] bytes;

  private HeldRanges(long[] begins, byte[][] bytes) {
    this.begins = begins;
    this.bytes = bytes;
  }

  /** Reads {@code spans} of {@code file}, one {@link InputFile#readFully} each. */
  public static HeldRanges read(InputFile file, List<ByteSpan> spans) throws IOException {
    long[] begins = new long[spans.size()];
    byte[][] bytes = new byte[spans.size()][];
    for (int i = 0; i < begins.length; i++) {
      ByteSpan span = spans.get(i);
      begins[i] = span.begin();
      bytes[i] = file.read(span.begin(), Math.toIntExact(span.length()));
    }
    return new HeldRanges(begins, bytes);
  }

  /** Bytes held. */
  public long heldBytes() {
    long sum = 0;
    for (byte[] b : bytes) {
      sum += b.length;
    }
    return sum;
  }

  /** {@code file}, its reads inside a held range served from memory. */
  public InputFile over(InputFile file) {
    return new InputFile() {
      @Override
      public String location() {
        return file.location();
      }

      @Override
      public long length() throws IOException {
        return file.length();
      }

      @Override
      public void readFully(long position, byte[] buffer, int offset, int len)
          throws IOException {
        for (int i = 0; i < begins.length; i++) {
          if (position >= begins[i] && position + len <= begins[i] + bytes[i].length) {
            System.arraycopy(bytes[i], (int) (position - begins[i]), buffer, offset, len);
            return;
          }
        }
        file.readFully(position, buffer, offset, len);
      }
    };
  }
}
