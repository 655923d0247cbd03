package org.loraquant.plan;

import java.io.Serializable;

/**
 * A complete compressed adapter found under {@code --output} (a folder holding the manifest).
 *
 * @param relativePath folder relative to the output root: the adapter it belongs to
 * @param location the folder in its store's syntax
 * @param bytes size of the files in the folder, from the listing
 * @param fixedFileBytes of those, the config and manifest files (docs/STATS.md, fixed_file_bytes)
 */
public record ExistingOutput(
    String relativePath, String location, long bytes, long fixedFileBytes)
    implements Serializable {
  private static final long serialVersionUID = 2L;
}
