package org.loraquant.lock;

import org.loraquant.errors.LoraQuantException;

/**
 * This run's lease is gone or belongs to another run: it was not renewed in time (the driver
 * stalled past the expiry) and another run took the lock over. The run must stop writing.
 */
public final class LeaseLostException extends LoraQuantException {
  LeaseLostException(String message) {
    super(message);
  }
}
