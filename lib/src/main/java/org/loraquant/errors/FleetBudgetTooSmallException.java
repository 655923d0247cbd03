package org.loraquant.errors;

/**
 * A fleet budget (docs/ALGORITHM.md, "Fleet budget") that cannot be met: the unchanged adapters
 * already store more than it allows, or what is left cannot hold the smallest storable form of the
 * layers to compress. A user error: the job maps it to exit code 2 before any work.
 */
public final class FleetBudgetTooSmallException extends LoraQuantException {
  private static final long serialVersionUID = 1L;

  private final long shortBits;

  public FleetBudgetTooSmallException(String message, long shortBits) {
    super(message);
    this.shortBits = shortBits;
  }

  /** By how many bits the budget falls short (positive). */
  public long shortBits() {
    return shortBits;
  }
}
