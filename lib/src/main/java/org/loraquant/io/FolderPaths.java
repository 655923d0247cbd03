package org.loraquant.io;

import java.util.UUID;

/** Folder path conventions shared by everything that writes adapter folders. */
public final class FolderPaths {
  private FolderPaths() {}

  /** Marks staging folders; with the leading '.', adapter discovery passes them over. */
  public static final String STAGING_MARKER = ".loraquant-staging-";

  /** {@code dir} without one trailing '/', so that children are {@code dir + "/" + name}. */
  public static String withoutTrailingSlash(String dir) {
    return dir.length() > 1 && dir.endsWith("/") ? dir.substring(0, dir.length() - 1) : dir;
  }

  /**
   * A new hidden sibling of {@code target} to stage a folder in: same parent, so the final rename
   * stays on one volume.
   */
  public static String stagingSibling(String target) {
    int slash = target.lastIndexOf('/');
    String parent = slash < 0 ? "" : target.substring(0, slash + 1);
    String name = target.substring(slash + 1);
    return parent + "." + name + STAGING_MARKER + UUID.randomUUID();
  }
}
