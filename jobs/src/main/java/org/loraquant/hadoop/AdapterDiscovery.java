package org.loraquant.hadoop;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.HadoopListing;
import org.loraquant.io.FolderPaths;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.RunPlanner;

/**
 * Lists the input root ({@link HadoopFileIO#listRecursive}: one recursive listing, no request per
 * folder or file) and hands the listing to {@link RunPlanner#adapters}, which decides which
 * folders are adapters (the hidden-file, config and link rules) and their fingerprints.
 */
public final class AdapterDiscovery {
  private AdapterDiscovery() {}

  /** The adapters under {@code root}, sorted by relative path. */
  public static List<DiscoveredAdapter> discover(HadoopFileIO io, String root) throws IOException {
    Path rootPath = new Path(root);
    FileSystem fs = io.fileSystem(rootPath);
    String qualified = FolderPaths.withoutTrailingSlash(fs.makeQualified(rootPath).toString());
    try {
      return RunPlanner.adapters(new RunPlanner.Root(root, qualified),
          io.listRecursive(qualified, RunPlanner::entersInputFolder));
    } catch (FileNotFoundException e) {
      throw new LoraQuantException("Input " + root + " does not exist; check the --input URI", e);
    }
  }

  /**
   * The adapter's folder listed again, non-recursively (one request), to check that the files it
   * was read from did not change since discovery ({@link #changeBetween}). A folder deleted since
   * lists as empty.
   */
  public static DiscoveredAdapter relist(FileSystem fs, DiscoveredAdapter adapter)
      throws IOException {
    return RunPlanner.relisted(adapter, HadoopListing.filesIn(fs, adapter));
  }

  /** {@link RunPlanner#changeDuringRun}: what changed between two listings, or null. */
  public static String changeBetween(DiscoveredAdapter before, DiscoveredAdapter after) {
    return RunPlanner.changeDuringRun(before, after);
  }
}
