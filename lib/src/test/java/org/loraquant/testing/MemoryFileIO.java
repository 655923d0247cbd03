package org.loraquant.testing;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.loraquant.io.FileIO;
import org.loraquant.io.InputFile;
import org.loraquant.io.OutputFile;

/**
 * A read-only {@link FileIO} over files held in memory, for readers fed bytes a test made (fuzzed
 * files, unreadable ones). Files are keyed by their full path; a folder exists, and is listed, when
 * files lie under it. Every write throws.
 *
 * <p>A read longer than its file fails the test (an {@link AssertionError}) before the reader gets
 * to allocate for it: every allocation a reader makes from a declared size must be bounded by the
 * bytes actually there.
 */
public final class MemoryFileIO implements FileIO {
  private final Map<String, byte[]> files;
  private final Function<String, IOException> readFailure;

  /** Over {@code files} (path to bytes), read as they are at each read. */
  public MemoryFileIO(Map<String, byte[]> files) {
    this(files, null);
  }

  private MemoryFileIO(Map<String, byte[]> files, Function<String, IOException> readFailure) {
    this.files = files;
    this.readFailure = readFailure;
  }

  /** The files of one folder {@code dir}, given by name (a copy: later changes to the map are not seen). */
  public static MemoryFileIO ofFolder(String dir, Map<String, byte[]> filesByName) {
    Map<String, byte[]> files = new LinkedHashMap<>();
    filesByName.forEach((name, bytes) -> files.put(dir + "/" + name, bytes));
    return new MemoryFileIO(files);
  }

  /**
   * The same files, listed as before, but every read of one (its length or its bytes) fails with the
   * exception {@code failure} makes for its path, e.g. {@code AccessDeniedException::new}.
   */
  public MemoryFileIO failingReads(Function<String, IOException> failure) {
    return new MemoryFileIO(files, failure);
  }

  @Override
  public InputFile newInputFile(String path) {
    return new InputFile() {
      @Override
      public String location() {
        return path;
      }

      @Override
      public long length() throws IOException {
        return bytes().length;
      }

      @Override
      public byte[] read(long position, int len) throws IOException {
        if (len > length()) {
          throw new AssertionError(path + ": asked for " + len + " bytes of a " + length() + "-byte file");
        }
        return InputFile.super.read(position, len);
      }

      @Override
      public void readFully(long position, byte[] buffer, int offset, int len) throws IOException {
        byte[] bytes = bytes();
        if (position < 0 || position + len > bytes.length) {
          throw new EOFException(path + ": " + len + " bytes at " + position + " pass the end");
        }
        System.arraycopy(bytes, (int) position, buffer, offset, len);
      }

      private byte[] bytes() throws IOException {
        if (readFailure != null) {
          throw readFailure.apply(path);
        }
        byte[] bytes = files.get(path);
        if (bytes == null) {
          throw new NoSuchFileException(path);
        }
        return bytes;
      }
    };
  }

  @Override
  public boolean exists(String path) {
    return files.containsKey(path) || isDirectory(path);
  }

  @Override
  public boolean isDirectory(String path) {
    return files.keySet().stream().anyMatch(p -> p.startsWith(path + "/"));
  }

  /** The files directly in {@code dir}, by name. */
  @Override
  public List<String> list(String dir) {
    List<String> names = new ArrayList<>();
    for (String path : files.keySet()) {
      if (path.startsWith(dir + "/") && path.indexOf('/', dir.length() + 1) < 0) {
        names.add(path.substring(dir.length() + 1));
      }
    }
    return names;
  }

  @Override
  public OutputFile newOutputFile(String path) {
    throw readOnly();
  }

  @Override
  public void delete(String path) {
    throw readOnly();
  }

  @Override
  public void deleteRecursively(String path) {
    throw readOnly();
  }

  @Override
  public void renameDirectory(String source, String target) {
    throw readOnly();
  }

  @Override
  public void mkdirs(String dir) {
    throw readOnly();
  }

  private static UnsupportedOperationException readOnly() {
    return new UnsupportedOperationException("read-only");
  }
}
