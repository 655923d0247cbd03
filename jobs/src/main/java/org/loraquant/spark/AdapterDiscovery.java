package org.loraquant.spark;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.fs.EtagSource;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.loraquant.errors.LoraQuantException;

/**
 * Finds the adapters under an input root: every folder, at any depth, that holds an {@code
 * adapter_config.json}.
 *
 * <p>One recursive {@code FileSystem.listFiles(root, true)} and nothing else: no exists() or
 * getFileStatus() per folder or file. On S3A that is a flat paged LIST of the prefix (1000 keys a
 * request), so thousands of adapters cost a handful of requests; everything below (grouping, sizes,
 * fingerprints) is computed from the listing in memory.
 *
 * <p>Paths with a component starting with '.' or '_' are skipped, as Hadoop and Spark do: they are
 * temporary or bookkeeping files ({@code _temporary}, {@code .crc}, the hidden folders that writers
 * rename into place).
 *
 * <p>Symbolic links (local file systems; object stores have none): a linked folder is never
 * entered, since it would list its adapters a second time under another name or, pointing at an
 * ancestor, loop; a linked file counts only if its target lies inside the input root (weights kept
 * once in a blob folder, as the Hugging Face cache does), never when it leaves the input.
 */
public final class AdapterDiscovery {
  public static final String CONFIG_FILE = "adapter_config.json";

  private static final Comparator<DiscoveredAdapter.AdapterFile> BY_NAME =
      Comparator.comparing(DiscoveredAdapter.AdapterFile::name);

  /** Bumped when the fingerprint's definition changes, so old outputs are recompressed. */
  static final String FINGERPRINT_VERSION = "loraquant-input-fingerprint-v1";

  private AdapterDiscovery() {}

  /** The adapters under {@code root}, sorted by relative path. */
  public static List<DiscoveredAdapter> discover(HadoopFileIO io, String root) throws IOException {
    Path rootPath = new Path(root);
    return discover(io.fileSystem(rootPath), rootPath);
  }

  public static List<DiscoveredAdapter> discover(FileSystem fs, Path root) throws IOException {
    Path qualifiedRoot = fs.makeQualified(root);
    String rootDir = qualifiedRoot.toUri().getPath();
    String prefix = rootDir.endsWith("/") ? rootDir : rootDir + "/"; // a bucket root is "/"
    Map<String, List<DiscoveredAdapter.AdapterFile>> filesByFolder = new TreeMap<>();
    try {
      for (FileStatus status : filesUnder(fs, qualifiedRoot)) {
        String filePath = status.getPath().toUri().getPath();
        if (filePath.equals(rootDir)) {
          throw new LoraQuantException(
              "Input " + root + " is a file; expected a folder of adapters");
        }
        if (!filePath.startsWith(prefix)) {
          continue; // not under the root (a symlink target, say): not ours to touch
        }
        String relative = filePath.substring(prefix.length());
        if (isHidden(relative)) {
          continue;
        }
        int slash = relative.lastIndexOf('/');
        String folder = slash < 0 ? "" : relative.substring(0, slash);
        filesByFolder
            .computeIfAbsent(folder, f -> new ArrayList<>())
            .add(fileOf(relative.substring(slash + 1), status));
      }
    } catch (FileNotFoundException e) {
      throw new LoraQuantException("Input " + root + " does not exist; check the --input URI", e);
    }

    List<DiscoveredAdapter> adapters = new ArrayList<>();
    for (Map.Entry<String, List<DiscoveredAdapter.AdapterFile>> e : filesByFolder.entrySet()) {
      List<DiscoveredAdapter.AdapterFile> files = e.getValue();
      if (files.stream().noneMatch(f -> f.name().equals(CONFIG_FILE))) {
        continue;
      }
      files.sort(BY_NAME);
      String folder = e.getKey();
      String location = childLocation(qualifiedRoot, folder);
      adapters.add(new DiscoveredAdapter(folder, location, files, fingerprint(files)));
    }
    return adapters;
  }

  /**
   * Every file under {@code root}. Object stores and HDFS: one recursive {@code listFiles}. The
   * local file system: Hadoop's recursive listing follows symbolic links (into linked folders, and
   * round a loop until the OS gives up), so the tree is walked here one folder at a time without
   * entering links, hidden folders left out early.
   */
  private static List<FileStatus> filesUnder(FileSystem fs, Path root) throws IOException {
    List<FileStatus> files = new ArrayList<>();
    if (!isLocal(fs)) {
      RemoteIterator<LocatedFileStatus> listing = fs.listFiles(root, true);
      while (listing.hasNext()) {
        files.add(listing.next());
      }
      return files;
    }
    java.nio.file.Path realRoot = realPath(root);
    java.util.ArrayDeque<Path> folders = new java.util.ArrayDeque<>(List.of(root));
    while (!folders.isEmpty()) {
      Path folder = folders.pop();
      for (FileStatus status : fs.listStatus(folder)) {
        if (status.isDirectory()) {
          if (!isHidden(status.getPath().getName()) && !isLink(status)) {
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
  static boolean followable(FileStatus status, java.nio.file.Path realRoot) {
    if (realRoot == null || !isLink(status)) {
      return true;
    }
    try {
      return java.nio.file.Path.of(status.getPath().toUri()).toRealPath().startsWith(realRoot);
    } catch (IOException e) {
      return false; // a dangling link: nothing to read
    }
  }

  /**
   * SHA-256 (hex) over the name, size, modification time and, where the store has one, the etag of
   * each file the compressed output is derived from: {@code adapter_config.json} and every {@code
   * *.safetensors} in the folder. Everything comes from the listing, so it costs no request and
   * reads no byte. A re-upload of identical bytes changes the time and so the fingerprint (a
   * needless recompression, never a stale output); an in-place change that keeps size and time
   * would go unnoticed on stores without etags, which uploads do not do. Other files (README.md,
   * training logs) do not count.
   */
  public static String fingerprint(List<DiscoveredAdapter.AdapterFile> files) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    StringBuilder text = new StringBuilder(FINGERPRINT_VERSION).append('\n');
    files.stream()
        .filter(f -> coveredByFingerprint(f.name()))
        .sorted(BY_NAME)
        .forEach(
            f ->
                text.append(f.name())
                    .append('\t')
                    .append(f.size())
                    .append('\t')
                    .append(f.modificationTime())
                    .append('\t')
                    .append(f.etag() == null ? "" : f.etag())
                    .append('\n'));
    return HexFormat.of().formatHex(sha.digest(text.toString().getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * The adapter's folder listed again, non-recursively (one request), to check that the files it
   * was read from did not change since discovery. A folder deleted since lists as empty.
   */
  public static DiscoveredAdapter relist(FileSystem fs, DiscoveredAdapter adapter)
      throws IOException {
    List<DiscoveredAdapter.AdapterFile> files = new ArrayList<>();
    try {
      java.nio.file.Path realRoot = isLocal(fs) ? realPath(inputRootOf(adapter)) : null;
      for (FileStatus status : fs.listStatus(new Path(adapter.location()))) {
        String name = status.getPath().getName();
        if (status.isFile() && !isHidden(name) && followable(status, realRoot)) {
          files.add(fileOf(name, status));
        }
      }
    } catch (FileNotFoundException e) {
      // Deleted since discovery: no files.
    }
    files.sort(BY_NAME);
    return new DiscoveredAdapter(
        adapter.relativePath(), adapter.location(), files, fingerprint(files));
  }

  /** The input root an adapter was discovered under: its location without its relative path. */
  private static Path inputRootOf(DiscoveredAdapter adapter) {
    String location = adapter.location();
    String relative = adapter.relativePath();
    return new Path(relative.isEmpty()
        ? location
        : location.substring(0, location.length() - relative.length() - 1));
  }

  /**
   * How the files the fingerprint covers differ between two listings of one adapter, naming the
   * first such file (in name order) and what changed; null when the fingerprints are equal.
   */
  public static String changeBetween(DiscoveredAdapter before, DiscoveredAdapter after) {
    if (before.fingerprint().equals(after.fingerprint())) {
      return null;
    }
    TreeMap<String, DiscoveredAdapter.AdapterFile> was = fingerprinted(before);
    TreeMap<String, DiscoveredAdapter.AdapterFile> is = fingerprinted(after);
    TreeSet<String> names = new TreeSet<>(was.keySet());
    names.addAll(is.keySet());
    for (String name : names) {
      DiscoveredAdapter.AdapterFile old = was.get(name);
      DiscoveredAdapter.AdapterFile now = is.get(name);
      if (old == null) {
        return name + " appeared";
      }
      if (now == null) {
        return name + " was removed";
      }
      if (!old.equals(now)) {
        return name + " was rewritten (was " + describe(old) + ", now " + describe(now) + ")";
      }
    }
    return "the fingerprint changed"; // only if its definition did, which a run cannot see
  }

  private static String describe(DiscoveredAdapter.AdapterFile f) {
    return f.size() + " bytes modified " + Instant.ofEpochMilli(f.modificationTime())
        + (f.etag() == null ? "" : " etag " + f.etag());
  }

  private static TreeMap<String, DiscoveredAdapter.AdapterFile> fingerprinted(
      DiscoveredAdapter adapter) {
    TreeMap<String, DiscoveredAdapter.AdapterFile> files = new TreeMap<>();
    for (DiscoveredAdapter.AdapterFile f : adapter.files()) {
      if (coveredByFingerprint(f.name())) {
        files.put(f.name(), f);
      }
    }
    return files;
  }

  /** Whether the fingerprint covers a file of this name: the config and the safetensors files. */
  static boolean coveredByFingerprint(String name) {
    return name.equals(CONFIG_FILE) || name.endsWith(".safetensors");
  }

  /**
   * The qualified location of {@code folder} (relative, '/'-separated, "" for the root itself)
   * under {@code qualifiedRoot}, by string concatenation: {@code new Path(root, folder)} would parse
   * a first component such as {@code run:2} as a URI scheme and fail the whole run. The result
   * parses back as an absolute Hadoop path, where a ':' after the first '/' is just a character.
   */
  static String childLocation(Path qualifiedRoot, String folder) {
    String root = qualifiedRoot.toString();
    if (folder.isEmpty()) {
      return root;
    }
    return root.endsWith("/") ? root + folder : root + "/" + folder;
  }

  static boolean isHidden(String relativePath) {
    for (String part : relativePath.split("/")) {
      if (part.startsWith(".") || part.startsWith("_")) {
        return true;
      }
    }
    return false;
  }

  /**
   * What a listing records of one file. Discovery and {@link #relist} both go through here, so
   * an unchanged file gives the same fingerprint either way.
   */
  private static DiscoveredAdapter.AdapterFile fileOf(String name, FileStatus status) {
    return new DiscoveredAdapter.AdapterFile(
        name, status.getLen(), status.getModificationTime(), etag(status));
  }

  private static String etag(FileStatus status) {
    return status instanceof EtagSource source ? source.getEtag() : null;
  }
}
