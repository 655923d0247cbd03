package org.loraquant.testing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.loraquant.io.FileIO;
import org.loraquant.io.InputFile;
import org.loraquant.io.LocalFileIO;
import org.loraquant.io.OutputFile;

/**
 * {@link LocalFileIO} that records every byte range read, to prove readers read only what they
 * need.
 */
public final class RecordingFileIO implements FileIO {
  private final FileIO delegate = new LocalFileIO();
  private final List<ByteRange> reads = new ArrayList<>();

  @Override
  public InputFile newInputFile(String path) {
    InputFile file = delegate.newInputFile(path);
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

  @Override
  public OutputFile newOutputFile(String path) {
    return delegate.newOutputFile(path);
  }

  @Override
  public boolean exists(String path) throws IOException {
    return delegate.exists(path);
  }

  @Override
  public List<String> list(String dir) throws IOException {
    return delegate.list(dir);
  }

  @Override
  public boolean isDirectory(String path) throws IOException {
    return delegate.isDirectory(path);
  }

  @Override
  public void delete(String path) throws IOException {
    delegate.delete(path);
  }

  @Override
  public void deleteRecursively(String path) throws IOException {
    delegate.deleteRecursively(path);
  }

  @Override
  public void renameDirectory(String source, String target) throws IOException {
    delegate.renameDirectory(source, target);
  }

  @Override
  public void mkdirs(String dir) throws IOException {
    delegate.mkdirs(dir);
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
