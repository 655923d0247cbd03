package org.loraquant.testing;

import java.io.IOException;
import java.util.List;
import org.loraquant.io.FileIO;
import org.loraquant.io.InputFile;
import org.loraquant.io.LocalFileIO;
import org.loraquant.io.OutputFile;

/**
 * A {@link FileIO} that hands every call to local files: test doubles extend it and override only
 * the calls they change (a failing write, a recorded read, a rename raced). The calls with a
 * default in {@link FileIO} keep it, so that an overridden {@link #newInputFile(String)} also
 * serves reads whose length is given.
 */
public abstract class ForwardingFileIO implements FileIO {
  protected final FileIO local = new LocalFileIO();

  @Override
  public InputFile newInputFile(String path) {
    return local.newInputFile(path);
  }

  @Override
  public OutputFile newOutputFile(String path) {
    return local.newOutputFile(path);
  }

  @Override
  public boolean exists(String path) throws IOException {
    return local.exists(path);
  }

  @Override
  public List<String> list(String dir) throws IOException {
    return local.list(dir);
  }

  @Override
  public boolean isDirectory(String path) throws IOException {
    return local.isDirectory(path);
  }

  @Override
  public void deleteRecursively(String path) throws IOException {
    local.deleteRecursively(path);
  }

  @Override
  public void delete(String path) throws IOException {
    local.delete(path);
  }

  @Override
  public void renameDirectory(String source, String target) throws IOException {
    local.renameDirectory(source, target);
  }

  @Override
  public void mkdirs(String dir) throws IOException {
    local.mkdirs(dir);
  }
}
