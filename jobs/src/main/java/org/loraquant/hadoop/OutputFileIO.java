package org.loraquant.hadoop;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.RequestCounter;
import org.loraquant.io.FileIO;
import org.loraquant.io.InputFile;
import org.loraquant.io.OutputFile;

/**
 * The {@link FileIO} the job writes compressed adapters through: {@link HadoopFileIO}, with {@link
 * #atomicDirectoryRename()} answered for the output's file system. On HDFS and local disks the
 * writer stages a folder and renames it into place; on object stores (S3A, GCS, Azure blob) a
 * "rename" copies file by file in no set order, so a crash could leave the manifest without the
 * model: there the writer writes in place, manifest last.
 *
 * @param committed told each time a staged output was renamed into place (the job's kill tests
 *     stop there: {@code spark.KillPoints}); storage knows nothing of the job
 */
public record OutputFileIO(HadoopFileIO io, boolean atomicDirectoryRename, Committed committed)
    implements FileIO, Serializable {
  private static final long serialVersionUID = 2L;

  /** Schemes whose directory rename is a single atomic metadata operation. */
  static final Set<String> ATOMIC_RENAME_SCHEMES = Set.of("file", "hdfs", "viewfs");

  /** Called after a staged output folder was renamed into place; shipped to executors. */
  public interface Committed extends Serializable {
    void outputCommitted();
  }

  /** Nobody is told. */
  public OutputFileIO(HadoopFileIO io, boolean atomicDirectoryRename) {
    this(io, atomicDirectoryRename, Nobody.INSTANCE);
  }

  public static OutputFileIO forScheme(HadoopFileIO io, String scheme) {
    return forScheme(io, scheme, Nobody.INSTANCE);
  }

  public static OutputFileIO forScheme(HadoopFileIO io, String scheme, Committed committed) {
    return new OutputFileIO(
        io, ATOMIC_RENAME_SCHEMES.contains(scheme.toLowerCase(Locale.ROOT)), committed);
  }

  /** The same, with its requests counted (see {@link HadoopFileIO#counting}). */
  public OutputFileIO counting(RequestCounter counter) {
    return new OutputFileIO(io.counting(counter), atomicDirectoryRename, committed);
  }

  private enum Nobody implements Committed {
    INSTANCE;

    @Override
    public void outputCommitted() {}
  }

  @Override
  public InputFile newInputFile(String path) {
    return io.newInputFile(path);
  }

  @Override
  public OutputFile newOutputFile(String path) {
    return io.newOutputFile(path);
  }

  @Override
  public boolean exists(String path) throws IOException {
    return io.exists(path);
  }

  @Override
  public List<String> list(String dir) throws IOException {
    return io.list(dir);
  }

  @Override
  public boolean isDirectory(String path) throws IOException {
    return io.isDirectory(path);
  }

  @Override
  public void delete(String path) throws IOException {
    io.delete(path);
  }

  @Override
  public void deleteRecursively(String path) throws IOException {
    io.deleteRecursively(path);
  }

  @Override
  public void renameDirectory(String source, String target) throws IOException {
    io.renameDirectory(source, target);
    committed.outputCommitted();
  }

  @Override
  public void mkdirs(String dir) throws IOException {
    io.mkdirs(dir);
  }
}
