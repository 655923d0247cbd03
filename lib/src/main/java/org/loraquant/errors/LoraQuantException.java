package org.loraquant.errors;

/** Root of the project's exceptions. Messages say what went wrong, where, and how to fix it. */
public class LoraQuantException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LoraQuantException(String message) {
    super(message);
  }

  public LoraQuantException(String message, Throwable cause) {
    super(message, cause);
  }
}
