package org.loraquant.testing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.loraquant.io.InputFile;
import org.loraquant.io.LocalFileIO;

/**
 * {@link LocalFileIO} that records every byte range read, to prove readers read only what they
 * need.
 */
public final class RecordingFileIO extends ForwardingFileIO {
  private final List<ByteRange> reads = new ArrayList<>();

  @Override
  public InputFile newInputFile(String path) {
    InputFile file = local.newInputFile(path);
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
      public void readFully(long position, byte[] buffer, int offset, int len) throws IOException {
        synchronized (reads) {
          reads.add(new ByteRange(file.location(), position, len));
        }
        file.readFully(position, buffer, offset, len);
      }
    };
  }

  /** Reads so far, in order. */
  public List<ByteRange> reads() {
    synchronized (reads) {
      return List.copyOf(reads);
    }
  }

  public void clearReads() {
    synchronized (reads) {
      reads.clear();
    }
  }
}
