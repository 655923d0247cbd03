package org.loraquant.stats;

import java.util.Locale;

/** The {@code status} of an {@code adapters} row (docs/STATS.md). */
public enum AdapterStatus {
  COMPRESSED,
  SKIPPED,
  INCOMPLETE,
  FAILED;

  /** The value in the stats table. */
  public String value() {
    return name().toLowerCase(Locale.ROOT);
  }
}
