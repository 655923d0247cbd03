package org.loraquant.spark;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.OwnedFolder;

/**
 * Finds the complete compressed adapters under the output root with one recursive listing, like
 * {@link AdapterDiscovery}: folders that hold {@code loraquant_manifest.json}. Hidden paths (the
 * writer's staging folders) are skipped; a folder without a manifest is an interrupted write and
 * counts as absent. Folders are mapped back to adapters by {@link OutputLayout}: {@value
 * OutputLayout#ROOT_ADAPTER_FOLDER} is the root adapter's, files directly in the output root are
 * nobody's. Staging folders a killed writer left (our staging names, older than {@link
 * FolderPaths#STALE_STAGING_AGE}) are removed on the way: the writer itself does not list its
 * parent folder, which here would be the whole output root once per adapter. The same listing
 * tells each writer what its folder holds ({@link Listing#contents}), so writers ask the store
 * nothing before they write (on S3, a LIST and a few HEADs per adapter saved).
 */
public final class OutputDiscovery {
  private OutputDiscovery() {}

  /**
   * The staging folder of ours, older than {@link FolderPaths#STALE_STAGING_AGE}, that a listed
   * file lies in (relative to the root, up to and including that folder), or null.
   */
  static String staleStagingFolder(String relative, long nowMillis) {
    String[] parts = relative.split("/");
    for (int i = 0; i < parts.length - 1; i++) {
      if (FolderPaths.isStaleStaging(parts[i], nowMillis)) {
        return String.join("/", java.util.Arrays.copyOf(parts, i + 1));
      }
    }
    return null;
  }

  /**
   * One listing of the output root.
   *
   * @param complete complete outputs by adapter (relative path)
   * @param files every file under the root, relative to it, but those of the stale staging
   *     folders removed on the way
   */
  public record Listing(Map<String, ExistingOutput> complete, NavigableSet<String> files) {
    /**
     * What the folder at {@code folder} (relative to the root) held, for {@code layout}: the
     * {@link OwnedFolder#inspect} of it, from this listing. Empty folders do not show in a
     * listing of files; they count as absent, which for a writer is the same (free).
     */
    public OwnedFolder.Contents contents(String folder, OwnedFolder.Layout layout) {
      if (files.contains(folder)) {
        return new OwnedFolder.Contents(true, false, List.of(), List.of());
      }
      Set<String> names = new TreeSet<>();
      // '0' is the character after '/': the range holds exactly the paths under folder + "/".
      for (String file : files.subSet(folder + "/", true, folder + "0", false)) {
        String rest = file.substring(folder.length() + 1);
        int slash = rest.indexOf('/');
        names.add(slash < 0 ? rest : rest.substring(0, slash));
      }
      return names.isEmpty()
          ? OwnedFolder.Contents.ABSENT
          : OwnedFolder.Contents.ofFolder(layout, names);
    }
  }

  /** Complete outputs by relative path; empty when the root does not exist yet. */
  public static Map<String, ExistingOutput> discover(HadoopFileIO io, String root)
      throws IOException {
    return list(io, root).complete();
  }

  /** See {@link Listing}; empty when the root does not exist yet. */
  public static Listing list(HadoopFileIO io, String root) throws IOException {
    Path rootPath = new Path(root);
    FileSystem fs = io.fileSystem(rootPath);
    Path qualifiedRoot = fs.makeQualified(rootPath);
    String rootDir = qualifiedRoot.toUri().getPath();
    String prefix = rootDir.endsWith("/") ? rootDir : rootDir + "/";
    Map<String, Long> bytesByFolder = new HashMap<>();
    Set<String> complete = new HashSet<>();
    Set<String> staleStaging = new TreeSet<>();
    NavigableSet<String> files = new TreeSet<>();
    long now = System.currentTimeMillis();
    try {
      RemoteIterator<LocatedFileStatus> listing = fs.listFiles(qualifiedRoot, true);
      while (listing.hasNext()) {
        LocatedFileStatus status = listing.next();
        String filePath = status.getPath().toUri().getPath();
        if (!filePath.startsWith(prefix)) {
          continue;
        }
        String relative = filePath.substring(prefix.length());
        String stale = staleStagingFolder(relative, now);
        if (stale != null) {
          staleStaging.add(stale);
          continue;
        }
        files.add(relative);
        int slash = relative.lastIndexOf('/');
        String folder = OutputLayout.adapterOf(slash < 0 ? "" : relative.substring(0, slash));
        String name = relative.substring(slash + 1);
        if (folder == null || AdapterDiscovery.isHidden(name)) {
          continue;
        }
        bytesByFolder.merge(folder, status.getLen(), Long::sum);
        if (name.equals(CompressedFormat.MANIFEST_FILE)) {
          complete.add(folder);
        }
      }
    } catch (FileNotFoundException e) {
      return new Listing(Map.of(), new TreeSet<>());
    }
    for (String stale : staleStaging) {
      // A killed writer's leftover: see FolderPaths.STALE_STAGING_AGE for why no live writer's.
      fs.delete(new Path(AdapterDiscovery.childLocation(qualifiedRoot, stale)), true);
    }
    Map<String, ExistingOutput> outputs = new TreeMap<>();
    for (String folder : complete) {
      String location = AdapterDiscovery.childLocation(qualifiedRoot, OutputLayout.folderOf(folder));
      outputs.put(folder, new ExistingOutput(folder, location, bytesByFolder.get(folder)));
    }
    return new Listing(outputs, files);
  }
}
