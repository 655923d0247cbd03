package org.loraquant.io;

import java.io.IOException;
import java.io.OutputStream;

/** Whole-file writes that never leave a truncated file behind when they fail. */
public final class FileWrites {
  private FileWrites() {}

  /**
   * Writes {@code bytes} to {@code path}, replacing it. If writing fails, whatever became visible
   * is deleted before the failure is rethrown: try-with-resources would close the stream, and on an
   * object store close() publishes the truncated object, which for a completion marker would make
   * a half-written folder look complete.
   */
  public static void write(FileIO io, String path, byte[] bytes) throws IOException {
    OutputStream out = io.newOutputFile(path).create();
    try {
      out.write(bytes);
    } catch (IOException | RuntimeException e) {
      try {
        out.close();
        io.deleteRecursively(path);
      } catch (IOException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
    out.close();
  }
}
