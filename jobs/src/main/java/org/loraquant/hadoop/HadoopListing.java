package org.loraquant.hadoop;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.apache.hadoop.fs.EtagSource;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.ListedFile;
import org.loraquant.plan.DiscoveredAdapter;

/**
 * Hadoop's listings as {@link org.loraquant.io.FileIO#listRecursive} specifies them: what a
 * listing saw of each file (size, time and, where the store reports one, as S3A's listing does,
 * the ETag), nothing decided. Object stores and HDFS: one recursive {@code listFiles}, a flat paged
 * LIST of the prefix on S3A (1000 keys a request), no request per folder or file. The local file
 * system: Hadoop's recursive listing follows symbolic links (into linked folders, and round a loop
 * until the OS gives up), so the tree is walked one folder at a time without entering links.
 */
public final class HadoopListing {
  private HadoopListing() {}

  public static List<ListedFile> listRecursive(
      FileSystem fs, String root, Predicate<String> enterFolder) throws IOException {
    Path qualified = fs.makeQualified(new Path(root));
    String rootDir = qualified.toUri().getPath();
    String prefix = rootDir.endsWith("/") ? rootDir : rootDir + "/"; // a bucket root is "/"
    String base = FolderPaths.withoutTrailingSlash(root);
    List<ListedFile> files = new ArrayList<>();
    for (FileStatus status : filesUnder(fs, qualified, prefix, enterFolder)) {
      String filePath = status.getPath().toUri().getPath();
      if (filePath.equals(rootDir)) {
        files.add(listed(base, status));
      } else if (filePath.startsWith(prefix)) {
        files.add(listed(base + "/" + filePath.substring(prefix.length()), status));
      }
      // Else not under the root (a symlink target, say): not ours to touch.
    }
    return files;
  }

  /**
   * The regular files directly in {@code folder}, non-recursively (one request), as an adapter's
   * files; links as {@link #listRecursive} treats them, relative to the input root the adapter
   * was found under. A folder deleted since lists as empty.
   */
  public static List<DiscoveredAdapter.AdapterFile> filesIn(FileSystem fs, DiscoveredAdapter adapter)
      throws IOException {
    List<DiscoveredAdapter.AdapterFile> files = new ArrayList<>();
    try {
      java.nio.file.Path realRoot = isLocal(fs) ? realPath(inputRootOf(adapter)) : null;
      for (FileStatus status : fs.listStatus(new Path(adapter.location()))) {
        if (status.isFile() && followable(status, realRoot)) {
          files.add(new DiscoveredAdapter.AdapterFile(status.getPath().getName(),
              status.getLen(), status.getModificationTime(), etag(status)));
        }
      }
    } catch (FileNotFoundException e) {
      // Deleted since discovery: no files.
    }
    return files;
  }

  private static List<FileStatus> filesUnder(
      FileSystem fs, Path root, String prefix, Predicate<String> enterFolder) throws IOException {
    List<FileStatus> files = new ArrayList<>();
    if (!isLocal(fs)) {
      RemoteIterator<LocatedFileStatus> listing = fs.listFiles(root, true);
      while (listing.hasNext()) {
        files.add(listing.next());
      }
      return files;
    }
    java.nio.file.Path realRoot = realPath(root);
    ArrayDeque<Path> folders = new ArrayDeque<>(List.of(root));
    while (!folders.isEmpty()) {
      Path folder = folders.pop();
      for (FileStatus status : fs.listStatus(folder)) {
        if (status.isDirectory()) {
          String path = status.getPath().toUri().getPath();
          String relative = path.startsWith(prefix) ? path.substring(prefix.length()) : path;
          if (enterFolder.test(relative) && !isLink(status)) {
            folders.push(status.getPath());
          }
        } else if (followable(status, realRoot)) {
          files.add(status);
        }
      }
    }
    return files;
  }

  private static boolean isLocal(FileSystem fs) {
    return "file".equals(fs.getUri().getScheme());
  }

  private static java.nio.file.Path realPath(Path local) throws IOException {
    try {
      return java.nio.file.Path.of(local.toUri()).toRealPath();
    } catch (java.nio.file.NoSuchFileException e) {
      throw new FileNotFoundException(local.toString());
    }
  }

  private static boolean isLink(FileStatus status) {
    return java.nio.file.Files.isSymbolicLink(java.nio.file.Path.of(status.getPath().toUri()));
  }

  /**
   * A file of a local listing counts unless it is a symbolic link whose target is outside {@code
   * realRoot} or missing. Elsewhere (no links) every file counts.
   */
  private static boolean followable(FileStatus status, java.nio.file.Path realRoot) {
    if (realRoot == null || !isLink(status)) {
      return true;
    }
    try {
      return java.nio.file.Path.of(status.getPath().toUri()).toRealPath().startsWith(realRoot);
    } catch (IOException e) {
      return false; // a dangling link: nothing to read
    }
  }

  /** The input root an adapter was discovered under: its location without its relative path. */
  private static Path inputRootOf(DiscoveredAdapter adapter) {
    String location = adapter.location();
    String relative = adapter.relativePath();
    return new Path(relative.isEmpty()
        ? location
        : location.substring(0, location.length() - relative.length() - 1));
  }

  private static ListedFile listed(String path, FileStatus status) {
    return new ListedFile(path, status.getLen(), status.getModificationTime(), etag(status));
  }

  private static String etag(FileStatus status) {
    return status instanceof EtagSource source ? source.getEtag() : null;
  }
}
