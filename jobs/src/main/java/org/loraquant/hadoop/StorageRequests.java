package org.loraquant.hadoop;

import java.io.Serializable;
import java.util.Locale;

/**
 * Requests the job made to storage, by kind, and the bytes it read: what an adapter cost this run
 * (the {@code requests} and {@code bytes_read} columns of the adapters table) or a whole run (its
 * summary). Counted by the job itself, as {@link HadoopFileIO} issues them (see {@link
 * HadoopFileIO#counting}); on S3A each is one HTTP request, barring the SDK's retries.
 *
 * @param lists directory listings (S3 LIST, one per 1,000 keys)
 * @param gets ranged reads (S3 GET)
 * @param heads existence and length queries (S3 HEAD)
 * @param writes files created, deleted, moved and folders made (S3 PUT, POST, DELETE, COPY)
 * @param bytesRead bytes the reads asked for
 */
public record StorageRequests(long lists, long gets, long heads, long writes, long bytesRead)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final StorageRequests NONE = new StorageRequests(0, 0, 0, 0, 0);

  public StorageRequests plus(StorageRequests other) {
    return new StorageRequests(
        lists + other.lists,
        gets + other.gets,
        heads + other.heads,
        writes + other.writes,
        bytesRead + other.bytesRead);
  }

  /** Requests of every kind. */
  public long total() {
    return lists + gets + heads + writes;
  }

  /** E.g. {@code 31 requests (2 list, 28 get, 0 head, 1 write), 3.2 MB read}. */
  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "%d requests (%d list, %d get, %d head, %d write), %.1f MB read",
        total(),
        lists,
        gets,
        heads,
        writes,
        bytesRead / 1e6);
  }
}
