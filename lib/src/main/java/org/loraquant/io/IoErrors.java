package org.loraquant.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/**
 * Storage failures as one line that says what happened. Java's file-system exceptions often carry
 * only the path as their message ({@code AccessDeniedException: /x}), so wrapping them as "Cannot
 * read /x" alone would lose the reason.
 */
public final class IoErrors {
  private IoErrors() {}

  /** "Cannot read LOCATION: REASON", keeping {@code e} as the cause. */
  public static UncheckedIOException cannotRead(String location, IOException e) {
    return new UncheckedIOException("Cannot read " + location + ": " + reason(e), e);
  }

  /** What went wrong, without repeating the path when the exception only holds that. */
  public static String reason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileSystemException fse && fse.getReason() != null) {
      return fse.getReason();
    }
    String message = e.getMessage();
    if (message == null || message.isBlank() || e instanceof FileSystemException) {
      return e.getClass().getSimpleName();
    }
    return message;
  }
}
