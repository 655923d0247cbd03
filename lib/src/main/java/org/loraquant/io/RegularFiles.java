package org.loraquant.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import org.loraquant.errors.InvalidAdapterException;

/**
 * The check every local read makes before it opens a file: only regular files are read. Opening a
 * FIFO blocks until some other process writes to it (a job would hang forever), and a directory or
 * a device is never an adapter file; both are the input's fault, so they are refused as such rather
 * than reported as storage failures (which a job retries). Symbolic links are followed: what
 * matters is what the read would open.
 *
 * <p>The check and the open are two system calls, so a file replaced by a FIFO in between can
 * still block; Java offers no non-blocking open to close that window.
 */
public final class RegularFiles {
  private RegularFiles() {}

  /**
   * The attributes of {@code path} (following links), after checking it is a regular file.
   *
   * @param location the file as messages name it
   * @throws InvalidAdapterException if it exists but is not a regular file
   * @throws IOException if it cannot be examined (missing, permission denied)
   */
  public static BasicFileAttributes require(Path path, String location) throws IOException {
    BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
    if (!attributes.isRegularFile()) {
      throw notRegular(location, kind(path, attributes));
    }
    return attributes;
  }

  /** The refusal of a path that is {@code kind} (e.g. "a directory") instead of a regular file. */
  public static InvalidAdapterException notRegular(String location, String kind) {
    return InvalidAdapterException.of(location, "not a regular file (" + kind + "); refused");
  }

  private static String kind(Path path, BasicFileAttributes attributes) {
    if (attributes.isDirectory()) {
      return "a directory";
    }
    try {
      // st_mode's file-type bits, where the platform has them (Linux, macOS).
      int mode = (Integer) Files.getAttribute(path, "unix:mode");
      switch (mode & 0170000) {
        case 0010000:
          return "a FIFO";
        case 0140000:
          return "a socket";
        case 0020000:
          return "a character device";
        case 0060000:
          return "a block device";
        default:
          break;
      }
    } catch (IOException | RuntimeException e) {
      // No unix view: the generic description below will do.
    }
    return "a special file";
  }
}
