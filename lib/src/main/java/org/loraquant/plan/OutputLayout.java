package org.loraquant.plan;

/**
 * Where each adapter's output lies under {@code --output}: at the adapter's relative path, except
 * for an adapter at the input root itself (relative path ""), whose output is the folder {@value
 * #ROOT_ADAPTER_FOLDER}. Writing it to the output root itself would make the root adapter's folder
 * the parent of every other output (and of a stats folder inside the output): its output must be
 * a folder of its own. The name starts with '_', which discovery skips in the input ({@link
 * RunPlanner#isHidden}), so no real adapter can ever have it as its relative path; it is
 * fixed rather than taken from the input's last path segment, which a real adapter could share.
 */
public final class OutputLayout {
  private OutputLayout() {}

  public static final String ROOT_ADAPTER_FOLDER = "_root";

  /** The output folder, relative to the output root, of the adapter at {@code relativePath}. */
  public static String folderOf(String relativePath) {
    return relativePath.isEmpty() ? ROOT_ADAPTER_FOLDER : relativePath;
  }

  /**
   * The adapter whose output {@code folder} (relative to the output root) is, or null for a folder
   * no adapter writes: the output root itself, and hidden folders other than {@link
   * #ROOT_ADAPTER_FOLDER}.
   */
  public static String adapterOf(String folder) {
    if (folder.equals(ROOT_ADAPTER_FOLDER)) {
      return "";
    }
    if (folder.isEmpty() || RunPlanner.isHidden(folder)) {
      return null;
    }
    return folder;
  }
}
