package org.loraquant.testing;

import java.io.EOFException;
import java.util.ArrayList;
import java.util.List;
import org.loraquant.io.InputFile;

/**
 * An in-memory {@link InputFile} that records every read. It may claim to be longer than the bytes
 * it holds (reads there return zeros), which lets a test present a file of terabytes without
 * storing it.
 */
public final class BytesInputFile implements InputFile {
  private final String location;
  private final byte[] bytes;
  private final long length;
  private final List<ByteRange> reads = new ArrayList<>();

  public BytesInputFile(String location, byte[] bytes) {
    this(location, bytes, bytes.length);
  }

  public BytesInputFile(String location, byte[] bytes, long claimedLength) {
    this.location = location;
    this.bytes = bytes.clone();
    this.length = claimedLength;
  }

  @Override
  public String location() {
    return location;
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public void readFully(long position, byte[] buffer, int offset, int len) throws EOFException {
    reads.add(new ByteRange(location, position, len));
    if (position < 0 || position + len > length) {
      throw new EOFException(
          location
              + ": wanted "
              + len
              + " bytes at offset "
              + position
              + " but the file ends at "
              + length);
    }
    for (int i = 0; i < len; i++) {
      long p = position + i;
      buffer[offset + i] = p < bytes.length ? bytes[(int) p] : 0;
    }
  }

  /** The reads so far, in order. */
  public List<ByteRange> reads() {
    return List.copyOf(reads);
  }
}
