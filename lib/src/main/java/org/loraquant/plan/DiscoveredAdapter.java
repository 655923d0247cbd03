package org.loraquant.plan;

import java.io.Serializable;
import java.time.Instant;
import java.util.List;

/**
 * An adapter folder found under the input root.
 *
 * @param relativePath folder relative to the root, '/'-separated; "" when the root itself is the
 *     adapter. The output mirrors it.
 * @param location the folder, qualified, in its store's path syntax (e.g. {@code
 *     s3a://bucket/fleet/a/b})
 * @param files the regular files directly in the folder (not in subfolders, which may hold other
 *     adapters), sorted by name, hidden ones ('.' or '_' first) left out
 * @param fingerprint see {@link RunPlanner#fingerprint}
 */
public record DiscoveredAdapter(
    String relativePath, String location, List<AdapterFile> files, String fingerprint)
    implements Serializable {

  /**
   * One file as the listing saw it; {@code etag} is null where the store has none (local, HDFS).
   */
  public record AdapterFile(String name, long size, long modificationTime, String etag)
      implements Serializable {
    /** This version of the file in words, for messages: "SIZE bytes modified TIME[ etag E]". */
    public String describe() {
      return size + " bytes modified " + Instant.ofEpochMilli(modificationTime)
          + (etag == null ? "" : " etag " + etag);
    }
  }

  public DiscoveredAdapter {
    files = List.copyOf(files);
  }

  /** The file called {@code name}, or null. */
  public AdapterFile file(String name) {
    return files.stream().filter(f -> f.name().equals(name)).findFirst().orElse(null);
  }

  /** The qualified path of a file in this folder. */
  public String path(String name) {
    return location + "/" + name;
  }

  /** Bytes of the files the fingerprint covers: the config and the safetensors files. */
  public long fingerprintedBytes() {
    return files.stream()
        .filter(f -> RunPlanner.coveredByFingerprint(f.name()))
        .mapToLong(AdapterFile::size)
        .sum();
  }
}
