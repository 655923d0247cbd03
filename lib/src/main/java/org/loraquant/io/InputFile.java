package org.loraquant.io;

import java.io.IOException;

/**
 * A readable file addressed by byte ranges, so one tensor can be read without the whole file.
 *
 * <p>Only regular files are read: where storage has other kinds of entries (a local directory,
 * FIFO or device), {@link #length} and {@link #readFully} throw {@link
 * org.loraquant.errors.InvalidAdapterException} for them, never block on them.
 */
public interface InputFile {
  /** Where the file lives, for messages (a path or URI). */
  String location();

  long length() throws IOException;

  /** Reads exactly {@code len} bytes at {@code position}; fails if the file is shorter. */
  void readFully(long position, byte[] buffer, int offset, int len) throws IOException;

  default byte[] read(long position, int len) throws IOException {
    byte[] bytes = new byte[len];
    readFully(position, bytes, 0, len);
    return bytes;
  }
}
