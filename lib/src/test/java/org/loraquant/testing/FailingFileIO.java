package org.loraquant.testing;

import java.io.IOException;
import java.io.OutputStream;
import org.loraquant.io.LocalFileIO;
import org.loraquant.io.OutputFile;

/**
 * {@link LocalFileIO} that fails like a crash would: the {@code failOnCreate}-th file created
 * (counting from 1) gets half its bytes written and then an IOException; or deleting one given
 * path throws before anything of it is deleted. {@code atomicRename} picks the writer's path.
 */
public final class FailingFileIO extends ForwardingFileIO {
  private final boolean atomicRename;
  private final int failOnCreate;
  private final String failOnDelete;
  private final java.util.concurrent.atomic.AtomicInteger creates =
      new java.util.concurrent.atomic.AtomicInteger(); // writers may create files at once

  private FailingFileIO(boolean atomicRename, int failOnCreate, String failOnDelete) {
    this.atomicRename = atomicRename;
    this.failOnCreate = failOnCreate;
    this.failOnDelete = failOnDelete;
  }

  public static FailingFileIO failingOnCreate(int n, boolean atomicRename) {
    return new FailingFileIO(atomicRename, n, null);
  }

  public static FailingFileIO failingOnDelete(String path, boolean atomicRename) {
    return new FailingFileIO(atomicRename, -1, path);
  }

  @Override
  public OutputFile newOutputFile(String path) {
    OutputFile file = local.newOutputFile(path);
    return new OutputFile() {
      @Override
      public String location() {
        return file.location();
      }

      @Override
      public OutputStream create() throws IOException {
        OutputStream out = file.create();
        if (creates.incrementAndGet() != failOnCreate) {
          return out;
        }
        return new OutputStream() {
          @Override
          public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len / 2);
            out.close();
            throw new IOException("injected failure writing " + file.location());
          }

          @Override
          public void close() throws IOException {
            out.close();
          }
        };
      }
    };
  }

  @Override
  public void delete(String path) throws IOException {
    if (path.equals(failOnDelete)) {
      throw new IOException("injected failure deleting " + path);
    }
    local.delete(path);
  }

  @Override
  public void deleteRecursively(String path) throws IOException {
    if (path.equals(failOnDelete)) {
      throw new IOException("injected failure deleting " + path);
    }
    local.deleteRecursively(path);
  }

  @Override
  public boolean atomicDirectoryRename() {
    return atomicRename;
  }
}
