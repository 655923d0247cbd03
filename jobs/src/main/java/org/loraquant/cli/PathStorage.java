package org.loraquant.cli;

import org.apache.hadoop.conf.Configuration;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.io.FileIO;
import org.loraquant.io.LocalFileIO;

/** The storage a command-line path lives on. */
final class PathStorage {
  private PathStorage() {}

  /** A URI with a scheme goes through Hadoop (s3a, hdfs, file); a plain path stays local. */
  static FileIO forPath(String path) {
    return hasScheme(path) ? new HadoopFileIO(new Configuration()) : new LocalFileIO();
  }

  static boolean hasScheme(String path) {
    return path.matches("^[A-Za-z][A-Za-z0-9+.-]+:.*");
  }
}
