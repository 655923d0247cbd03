package org.loraquant.options;

/** A malformed command line: unknown flag, missing value, bad number. Exit code 2. */
public final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
