package org.loraquant.errors;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Whose fault an exception reports, decided by the exception's own type and never by its cause
 * chain: a wrapper cannot turn a bug into a retry, nor a storage failure into a refused input.
 * Every input fault is an {@link InvalidAdapterException} (its {@link IncompleteAdapterException}
 * subtype for uploads in progress); every storage fault is an {@link IOException}, or an {@link
 * UncheckedIOException} where an interface cannot declare one (see {@code io.IoErrors}).
 */
public enum Fault {
  /** An upload still in progress: not a failure, a later run picks it up. */
  INCOMPLETE_INPUT,
  /** The input is refused: malformed, truncated, not LoRA, non-finite factors. Never retried. */
  INVALID_INPUT,
  /** The store failed: worth retrying, and the run fails when retries run out. */
  STORAGE,
  /** Anything else: a bug or a refused setting, this item's failure only. */
  OTHER;

  public static Fault of(Throwable e) {
    if (e instanceof IncompleteAdapterException) {
      return INCOMPLETE_INPUT;
    }
    if (e instanceof InvalidAdapterException) {
      return INVALID_INPUT;
    }
    if (e instanceof IOException || e instanceof UncheckedIOException) {
      return STORAGE;
    }
    return OTHER;
  }
}
