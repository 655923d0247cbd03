package org.loraquant.io;

import java.io.IOException;
import java.io.OutputStream;

/** A file to be written. Callers close the stream; what they wrote becomes visible at close. */
public interface OutputFile {
  String location();

  /** Creates the file, replacing one that exists, and the folders above it that are missing. */
  OutputStream create() throws IOException;
}
