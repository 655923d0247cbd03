package org.loraquant.io;

import java.io.IOException;
import java.util.List;
import java.util.function.Predicate;

/**
 * The core's only door to storage. Local files are in lib ({@link LocalFileIO}); Hadoop (S3A, HDFS)
 * comes in from jobs/. Paths are strings in the implementation's own syntax, joined with '/'.
 */
public interface FileIO {
  InputFile newInputFile(String path);

  /**
   * An input file whose length is already known (from a listing, or from an earlier open), so
   * asking for it costs no request; {@code length < 0} means unknown. Stores where the length is
   * free may ignore it.
   */
  default InputFile newInputFile(String path, long length) {
    return newInputFile(path);
  }

  OutputFile newOutputFile(String path);

  boolean exists(String path) throws IOException;

  /** Names (not paths) of the entries directly under {@code dir}; empty if it does not exist. */
  List<String> list(String dir) throws IOException;

  /**
   * Every regular file under {@code root} at any depth, in no particular order, each path {@code
   * root} (without a trailing '/') + '/' + its path below root; a root that is itself a file lists
   * as that file alone, its path {@code root}. One recursive listing: on object stores a paged LIST
   * of the prefix, never a request per folder or file.
   *
   * <p>Symbolic links (local disks; object stores have none): a linked folder is never entered
   * (it would list its files a second time under another name or, pointing at an ancestor, loop);
   * a linked file is listed, with its target's size and time, only when the target lies inside
   * {@code root}.
   *
   * @param enterFolder whether to list the folder at this path relative to root; stores that list
   *     a whole prefix at once may list it anyway (callers filter the result too), stores that
   *     list one folder at a time save the listing
   * @throws java.io.FileNotFoundException if {@code root} does not exist
   */
  default List<ListedFile> listRecursive(String root, Predicate<String> enterFolder)
      throws IOException {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " cannot list a folder recursively");
  }

  /** {@link #listRecursive(String, Predicate)}, every folder entered. */
  default List<ListedFile> listRecursive(String root) throws IOException {
    return listRecursive(root, folder -> true);
  }

  /** True when {@code path} is a directory; false when it is a file or does not exist. */
  boolean isDirectory(String path) throws IOException;

  /** Deletes a file or a directory tree; no-op if it does not exist. */
  void deleteRecursively(String path) throws IOException;

  /**
   * Deletes one file or one empty directory; no-op if it does not exist. Fails on a directory
   * that is not empty, so a writer that removes its own files one by one and then their folder
   * never takes anything else with it.
   */
  void delete(String path) throws IOException;

  /**
   * Moves a directory into place. Fails if {@code target} exists. On local disks this is an
   * atomic rename; on object stores it may not be, so writers also write a completion marker last.
   */
  void renameDirectory(String source, String target) throws IOException;

  void mkdirs(String dir) throws IOException;

  /**
   * True when {@link #renameDirectory} is atomic (local disks, HDFS). Object stores copy on
   * rename, so writers there write in place and mark completion with a file written last.
   */
  default boolean atomicDirectoryRename() {
    return true;
  }
}
