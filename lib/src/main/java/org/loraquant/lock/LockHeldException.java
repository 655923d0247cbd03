package org.loraquant.lock;

import org.loraquant.errors.LoraQuantException;

/** Another run holds the lock (its lease has not expired): this run must not write. */
public final class LockHeldException extends LoraQuantException {
  private final Lease holder;

  LockHeldException(String location, Lease holder) {
    super(
        location
            + " is locked by "
            + holder.describe()
            + ": another run is writing there; wait for it to finish, or if it was killed, for"
            + " the lease to expire (or delete the lease file once no run is alive)");
    this.holder = holder;
  }

  public Lease holder() {
    return holder;
  }
}
