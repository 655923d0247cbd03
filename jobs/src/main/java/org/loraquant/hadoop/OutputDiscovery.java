package org.loraquant.hadoop;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.ListedFile;
import org.loraquant.io.OwnedFolder;
import org.loraquant.plan.ExistingOutput;
import org.loraquant.plan.RunPlanner;

/**
 * Lists the output root once ({@link HadoopFileIO#listRecursive}), hands the listing to {@link
 * RunPlanner#outputs}, which decides which folders are complete outputs and which are staging
 * folders a killed writer left (ours, older than {@link FolderPaths#STALE_STAGING_AGE}), and
 * removes the latter: the writer itself does not list its parent folder, which here would be the
 * whole output root once per adapter. The same listing tells each writer what its folder holds
 * ({@link Listing#contents}), so writers on object stores ask the store nothing before they write
 * (on S3, a LIST and a few HEADs per adapter saved).
 */
public final class OutputDiscovery {
  private OutputDiscovery() {}

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
    String qualified = FolderPaths.withoutTrailingSlash(fs.makeQualified(rootPath).toString());
    List<ListedFile> listing;
    try {
      listing = io.listRecursive(qualified);
    } catch (FileNotFoundException e) {
      return new Listing(Map.of(), new TreeSet<>());
    }
    long now = System.currentTimeMillis();
    RunPlanner.OutputListing outputs = RunPlanner.outputs(qualified, listing, now);
    for (String stale : outputs.staleStaging()) {
      // A killed writer's leftover: see FolderPaths.STALE_STAGING_AGE for why no live writer's.
      fs.delete(new Path(stale), true);
    }
    String prefix = qualified + "/";
    NavigableSet<String> files = new TreeSet<>();
    for (ListedFile listed : listing) {
      if (listed.path().startsWith(prefix)) {
        String relative = listed.path().substring(prefix.length());
        if (RunPlanner.staleStagingFolder(relative, now) == null) {
          files.add(relative);
        }
      }
    }
    return new Listing(outputs.complete(), files);
  }
}
