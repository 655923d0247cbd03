package org.loraquant.hadoop;

import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.plan.DiscoveredAdapter;

/**
 * An adapter's files changed while the run was reading it (a drop-folder upload during the run),
 * found by listing its folder again or by a read pinned to the listed version that the store
 * refused ({@link HadoopFileIO#pinnedTo}). Incomplete, not failed: nothing is written, and the
 * next run, seeing the new fingerprint, compresses the new version.
 */
public final class ChangedSinceDiscovery extends IncompleteAdapterException {
  private static final long serialVersionUID = 1L;

  private ChangedSinceDiscovery(String folder, String problem) {
    super(folder, null, problem);
  }

  /** {@code change}: what changed, as {@link AdapterDiscovery#changeBetween} says it. */
  public static ChangedSinceDiscovery of(DiscoveredAdapter adapter, String change) {
    return new ChangedSinceDiscovery(
        adapter.location(),
        change
            + " while this run was reading the adapter; nothing was written, and the next run"
            + " compresses the new version");
  }

  /** A pinned read of {@code file} found no object: deleted since discovery listed it. */
  static ChangedSinceDiscovery deleted(
      DiscoveredAdapter adapter, DiscoveredAdapter.AdapterFile file) {
    return of(adapter, file.name() + " was deleted (was " + file.describe() + ")");
  }

  /** The store refused a read of {@code file} pinned to the version discovery listed. */
  static ChangedSinceDiscovery refusedPinnedRead(
      DiscoveredAdapter adapter, DiscoveredAdapter.AdapterFile file) {
    return of(
        adapter,
        file.name()
            + " was rewritten (was "
            + file.describe()
            + ", now another version: the store refused a read of the listed one)");
  }
}
