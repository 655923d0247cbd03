package org.loraquant.io;

import java.io.Serializable;

/**
 * One regular file as a listing saw it: everything the run planner decides from, at no cost
 * beyond the listing itself.
 *
 * @param path the file's path: the listed root, '/', then the path below it
 * @param size bytes
 * @param modificationTime milliseconds since the epoch
 * @param etag the store's entity tag, or null where it has none (local disks, HDFS)
 */
public record ListedFile(String path, long size, long modificationTime, String etag)
    implements Serializable {
  private static final long serialVersionUID = 1L;
}
