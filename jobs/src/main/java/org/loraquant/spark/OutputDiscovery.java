package org.loraquant.spark;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.ListedFile;
import org.loraquant.plan.ExistingOutput;
import org.loraquant.plan.RunPlanner;

/**
 * Lists the output root once ({@link HadoopFileIO#listRecursive}), hands the listing to {@link
 * RunPlanner#outputs}, which decides which folders are complete outputs and which are staging
 * folders a killed writer left (ours, older than {@link FolderPaths#STALE_STAGING_AGE}), and
 * removes the latter: the writer itself does not list its parent folder, which here would be the
 * whole output root once per adapter.
 */
public final class OutputDiscovery {
  private OutputDiscovery() {}

  /** Complete outputs by relative path; empty when the root does not exist yet. */
  public static Map<String, ExistingOutput> discover(HadoopFileIO io, String root)
      throws IOException {
    Path rootPath = new Path(root);
    FileSystem fs = io.fileSystem(rootPath);
    String qualified = FolderPaths.withoutTrailingSlash(fs.makeQualified(rootPath).toString());
    List<ListedFile> listing;
    try {
      listing = io.listRecursive(qualified);
    } catch (FileNotFoundException e) {
      return Map.of();
    }
    RunPlanner.OutputListing outputs =
        RunPlanner.outputs(qualified, listing, System.currentTimeMillis());
    for (String stale : outputs.staleStaging()) {
      // A killed writer's leftover: see FolderPaths.STALE_STAGING_AGE for why no live writer's.
      fs.delete(new Path(stale), true);
    }
    return outputs.complete();
  }
}
