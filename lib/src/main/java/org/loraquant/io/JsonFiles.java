package org.loraquant.io;

import java.io.IOException;
import org.loraquant.errors.InvalidAdapterException;

/** Reading the small JSON files of an adapter folder (configs, manifests) whole, with a bound. */
public final class JsonFiles {
  /**
   * Largest JSON file read: PEFT configs are a few kilobytes and our manifests a few hundred bytes
   * a layer, so anything larger is not one of them, and the bound keeps a hostile file from
   * claiming gigabytes of heap.
   */
  public static final int MAX_JSON_FILE_BYTES = 16 * 1024 * 1024;

  private JsonFiles() {}

  /**
   * The whole file.
   *
   * @throws InvalidAdapterException if it is larger than {@link #MAX_JSON_FILE_BYTES} or not a
   *     regular file
   */
  public static byte[] read(InputFile file) throws IOException {
    long length = file.length();
    if (length > MAX_JSON_FILE_BYTES) {
      throw InvalidAdapterException.of(
          file.location(),
          length + " bytes is too large for a JSON file (limit " + MAX_JSON_FILE_BYTES + " bytes)");
    }
    return file.read(0, (int) length);
  }
}
