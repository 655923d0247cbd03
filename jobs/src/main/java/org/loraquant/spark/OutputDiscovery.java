package org.loraquant.spark;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.loraquant.format.CompressedFormat;

/**
 * Finds the complete compressed adapters under the output root with one recursive listing, like
 * {@link AdapterDiscovery}: folders that hold {@code loraquant_manifest.json}. Hidden paths (the
 * writer's staging folders) are skipped; a folder without a manifest is an interrupted write and
 * counts as absent.
 */
public final class OutputDiscovery {
  private OutputDiscovery() {}

  /** Complete outputs by relative path; empty when the root does not exist yet. */
  public static Map<String, ExistingOutput> discover(HadoopFileIO io, String root)
      throws IOException {
    Path rootPath = new Path(root);
    FileSystem fs = io.fileSystem(rootPath);
    Path qualifiedRoot = fs.makeQualified(rootPath);
    String rootDir = qualifiedRoot.toUri().getPath();
    String prefix = rootDir.endsWith("/") ? rootDir : rootDir + "/";
    Map<String, Long> bytesByFolder = new HashMap<>();
    Set<String> complete = new HashSet<>();
    try {
      RemoteIterator<LocatedFileStatus> listing = fs.listFiles(qualifiedRoot, true);
      while (listing.hasNext()) {
        LocatedFileStatus status = listing.next();
        String filePath = status.getPath().toUri().getPath();
        if (!filePath.startsWith(prefix)) {
          continue;
        }
        String relative = filePath.substring(prefix.length());
        if (AdapterDiscovery.isHidden(relative)) {
          continue;
        }
        int slash = relative.lastIndexOf('/');
        String folder = slash < 0 ? "" : relative.substring(0, slash);
        bytesByFolder.merge(folder, status.getLen(), Long::sum);
        if (relative.substring(slash + 1).equals(CompressedFormat.MANIFEST_FILE)) {
          complete.add(folder);
        }
      }
    } catch (FileNotFoundException e) {
      return Map.of();
    }
    Map<String, ExistingOutput> outputs = new TreeMap<>();
    for (String folder : complete) {
      String location = AdapterDiscovery.childLocation(qualifiedRoot, folder);
      outputs.put(folder, new ExistingOutput(folder, location, bytesByFolder.get(folder)));
    }
    return outputs;
  }
}
