package org.loraquant.hadoop;

import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FutureDataInputStreamBuilder;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Options.OpenFileOptions;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.util.functional.FutureIO;
import org.apache.spark.SparkContext;
import org.loraquant.io.FileIO;
import org.loraquant.io.InputFile;
import org.loraquant.io.IoErrors;
import org.loraquant.io.ListedFile;
import org.loraquant.io.OutputFile;
import org.loraquant.io.RegularFiles;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.RunPlanner;

/**
 * {@link FileIO} over Hadoop's FileSystem: {@code file:}, {@code s3a:}, {@code hdfs:} and whatever
 * else the classpath provides. Paths are Hadoop path strings; one without a scheme resolves against
 * {@code fs.defaultFS}.
 *
 * <p><b>Serialisation.</b> Instances are meant to travel to executors (broadcast one per job rather
 * than capturing it in every task closure). What is serialised is a snapshot, taken at
 * construction, of the Hadoop settings whose key starts with one of {@link #SHIPPED_PREFIXES} and
 * whose raw value differs from a fresh {@code new Configuration()}: the S3A / HDFS client settings
 * a job sets through {@code spark.hadoop.*} or site files on the driver, and nothing else (not the
 * thousand defaults every JVM already has). On the executor a fresh Configuration (defaults plus
 * the executor's own site files) gets the snapshot laid over it. Note that explicit credentials
 * ({@code fs.s3a.access.key}, ...) are part of the snapshot and so of the broadcast; prefer
 * credential providers or instance roles on clusters. FileSystem instances are never serialised:
 * Hadoop's per-JVM cache hands them out again on each side.
 *
 * <p><b>Reads.</b> Every {@link InputFile#readFully} opens a stream, reads the range with a
 * positional read and closes it: a single ranged GET on S3A (with the "random" read policy, and no
 * HEAD request when the length is known from the listing, see {@link #newInputFile(String,
 * long)}). The job reads an adapter's header once (in the open stage) and then its layers in
 * merged ranges of up to 64 MB ({@code LayerStage}), so few requests are made and keeping streams
 * open would save little and leak connections when a task dies. A {@link #counting} view counts
 * the requests.
 *
 * <p><b>Pinned reads.</b> A {@link #pinnedTo} view reads an adapter's files as discovery listed
 * them: on S3A with change detection on, every read of a listed file is pinned to its listed ETag
 * from its first request, so a file replaced since the listing is refused ({@link
 * ChangedSinceDiscovery}) rather than read, and an adapter read only through such a view is known
 * to come from one version of its files without listing its folder again ({@link #pinsReads}).
 */
public final class HadoopFileIO implements FileIO, Serializable {
  private static final long serialVersionUID = 1L;

  /** Key prefixes of the Hadoop settings shipped to executors. */
  public static final List<String> SHIPPED_PREFIXES =
      List.of("fs.", "dfs.", "hadoop.", "io.", "ipc.");

  /**
   * S3A's create option that skips its checks of the path (hadoop-aws 3.4); other file systems
   * ignore it, as an optional builder key.
   */
  static final String S3A_CREATE_PERFORMANCE = "fs.s3a.create.performance";

  private final TreeMap<String, String> settings;
  private transient Configuration conf;
  private transient RequestCounter counter; // null: not counted; never serialised
  private transient DiscoveredAdapter pinned; // null: reads not pinned; never serialised

  /** Uses {@code conf} as is on this JVM and snapshots what executors need from it. */
  public HadoopFileIO(Configuration conf) {
    this.conf = conf;
    this.settings = snapshot(conf);
  }

  private HadoopFileIO(HadoopFileIO io, RequestCounter counter, DiscoveredAdapter pinned) {
    this.conf = io.conf;
    this.settings = io.settings;
    this.counter = counter;
    this.pinned = pinned;
  }

  /**
   * The same storage, with every request made through the returned view (and the files it hands
   * out) added to {@code counter}: listings, reads and their bytes, HEADs, writes. Requests made
   * straight through {@link #fileSystem} are the caller's to count.
   */
  public HadoopFileIO counting(RequestCounter counter) {
    return new HadoopFileIO(this, counter, pinned);
  }

  /**
   * The same storage, with every read of one of {@code adapter}'s listed files made through the
   * returned view (and the files it hands out) pinned to the version discovery listed, when {@link
   * #pinsReads} says the store can; otherwise this view, unpinned. A pinned read of a file
   * replaced since throws {@link ChangedSinceDiscovery} (an incomplete adapter, never a failed one
   * or a storage fault to retry), whichever request it is. Counting, if any, goes on.
   */
  public HadoopFileIO pinnedTo(DiscoveredAdapter adapter) {
    try {
      return pinsReads(adapter) ? new HadoopFileIO(this, counter, adapter) : this;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot reach the store of " + adapter.location() + ": " + IoErrors.reason(e), e);
    }
  }

  /**
   * Whether reads of {@code adapter}'s files through {@link #pinnedTo} are pinned to their listed
   * versions: its folder is on S3A, S3A's change detection compares ETags from the first request
   * on (mode {@code server} or {@code client}, source {@code etag}: not {@code warn} or {@code
   * none}), and the listing gave each of its fingerprinted files an ETag. Elsewhere (local disks,
   * HDFS, other stores) nothing is pinned and only listing the folder again shows a change.
   * Asks the store nothing.
   */
  public boolean pinsReads(DiscoveredAdapter adapter) throws IOException {
    FileSystem fs = fileSystem(new Path(adapter.location()));
    if (!isS3A(fs) || !S3APinnedReads.refusesOtherVersions(fs)) {
      return false;
    }
    return adapter.files().stream()
        .filter(f -> RunPlanner.coveredByFingerprint(f.name()))
        .allMatch(f -> f.etag() != null);
  }

  /**
   * Whether {@code fs} is S3A, under whatever scheme it is bound to, by its class name: so that no
   * S3A class is loaded (hadoop-aws is provided, and absent from local runs) unless it is.
   */
  private static boolean isS3A(FileSystem fs) {
    for (Class<?> c = fs.getClass(); c != null; c = c.getSuperclass()) {
      if (c.getName().equals("org.apache.hadoop.fs.s3a.S3AFileSystem")) {
        return true;
      }
    }
    return false;
  }

  /** The listed file of the pinned adapter at {@code path}, or null (not pinned). */
  private DiscoveredAdapter.AdapterFile pinnedFile(Path path) {
    if (pinned == null) {
      return null;
    }
    for (DiscoveredAdapter.AdapterFile f : pinned.files()) {
      if (new Path(pinned.path(f.name())).equals(path)) {
        return f;
      }
    }
    return null;
  }

  private void count(java.util.function.Consumer<RequestCounter> kind) {
    if (counter != null) {
      kind.accept(counter);
    }
  }

  /** The FileIO of a Spark application: its Hadoop configuration, spark.hadoop.* included. */
  public static HadoopFileIO of(SparkContext spark) {
    return new HadoopFileIO(spark.hadoopConfiguration());
  }

  /** The Hadoop settings that are serialised with this object (see the class comment). */
  public Map<String, String> shippedSettings() {
    return java.util.Collections.unmodifiableMap(settings);
  }

  public Configuration conf() {
    return conf;
  }

  public FileSystem fileSystem(Path path) throws IOException {
    return path.getFileSystem(conf);
  }

  private static TreeMap<String, String> snapshot(Configuration conf) {
    Configuration defaults = new Configuration();
    TreeMap<String, String> shipped = new TreeMap<>();
    for (Map.Entry<String, String> e : conf) {
      String key = e.getKey();
      if (SHIPPED_PREFIXES.stream().anyMatch(key::startsWith)) {
        String raw = conf.getRaw(key);
        if (raw != null && !raw.equals(defaults.getRaw(key))) {
          shipped.put(key, raw);
        }
      }
    }
    return shipped;
  }

  private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
    in.defaultReadObject();
    Configuration rebuilt = new Configuration();
    settings.forEach(rebuilt::set);
    conf = rebuilt;
  }

  @Override
  public InputFile newInputFile(String path) {
    return newInputFile(path, -1);
  }

  /**
   * An input file whose length is already known (from a listing), which saves a HEAD request; a
   * negative length means unknown.
   */
  @Override
  public InputFile newInputFile(String path, long length) {
    Path p = new Path(path);
    DiscoveredAdapter.AdapterFile listed = pinnedFile(p);
    return new HadoopInputFile(
        this, p, listed != null ? listed.size() : Math.max(-1, length), listed);
  }

  @Override
  public OutputFile newOutputFile(String path) {
    Path p = new Path(path);
    return new OutputFile() {
      @Override
      public String location() {
        return p.toString();
      }

      /**
       * Creates parent directories as needed. On S3A in "performance" mode: no HEAD or LIST
       * asking whether a directory sits at the path (the writers check their folder, or know it
       * from the job's listing, see {@code OwnedFolder}), so a small file is one PUT.
       */
      @Override
      public OutputStream create() throws IOException {
        count(RequestCounter::write);
        return (OutputStream)
            fileSystem(p)
                .createFile(p)
                .overwrite(true)
                .recursive()
                .opt(S3A_CREATE_PERFORMANCE, true)
                .build();
      }
    };
  }

  @Override
  public boolean exists(String path) throws IOException {
    Path p = new Path(path);
    count(RequestCounter::head);
    return fileSystem(p).exists(p);
  }

  @Override
  public List<String> list(String dir) throws IOException {
    Path p = new Path(dir);
    FileStatus[] entries;
    count(RequestCounter::list);
    try {
      entries = fileSystem(p).listStatus(p);
    } catch (FileNotFoundException e) {
      return List.of();
    }
    List<String> names = new ArrayList<>(entries.length);
    for (FileStatus s : entries) {
      names.add(s.getPath().getName());
    }
    names.sort(null);
    return names;
  }

  /**
   * See {@link HadoopListing}: one recursive listing (the ETag from S3A's listing where it has
   * one), or on local disks a walk that does not enter links. Not counted: the driver lists.
   */
  @Override
  public List<ListedFile> listRecursive(String root, Predicate<String> enterFolder)
      throws IOException {
    return HadoopListing.listRecursive(fileSystem(new Path(root)), root, enterFolder);
  }

  @Override
  public boolean isDirectory(String path) throws IOException {
    Path p = new Path(path);
    try {
      return fileSystem(p).getFileStatus(p).isDirectory();
    } catch (FileNotFoundException e) {
      return false;
    }
  }

  /**
   * Hadoop refuses a non-recursive delete of a directory that is not empty. On the local file
   * system, checksum files ({@code .NAME.crc}) whose NAME is gone (deleted by hand, say) are
   * Hadoop's own bookkeeping, hidden from listings: they are removed first so that they do not
   * keep an otherwise empty folder alive. Anything else in the folder makes the delete fail.
   */
  @Override
  public void delete(String path) throws IOException {
    Path p = new Path(path);
    FileSystem fs = fileSystem(p);
    count(RequestCounter::write);
    if (fs instanceof ChecksumFileSystem checksums && isDirectory(path)) {
      FileSystem raw = checksums.getRawFileSystem();
      for (FileStatus entry : raw.listStatus(p)) {
        Path file = entry.getPath();
        if (checksums.isChecksumFile(file)
            && !raw.exists(new Path(p, file.getName().substring(1, file.getName().length() - 4)))) {
          raw.delete(file, false);
        }
      }
    }
    fs.delete(p, false);
  }

  @Override
  public void deleteRecursively(String path) throws IOException {
    Path p = new Path(path);
    count(RequestCounter::write);
    fileSystem(p).delete(p, true);
  }

  /**
   * Atomic on HDFS and local disks; on S3A a copy then delete, not atomic: writers write a
   * completion marker last (see {@link FileIO#renameDirectory}).
   */
  @Override
  public void renameDirectory(String source, String target) throws IOException {
    Path from = new Path(source);
    Path to = new Path(target);
    FileSystem fs = fileSystem(to);
    count(RequestCounter::write);
    // HDFS would move the source *into* an existing target; refuse instead.
    if (fs.exists(to)) {
      throw new IOException("Cannot move " + source + " to " + target + ": target exists");
    }
    if (to.getParent() != null) {
      fs.mkdirs(to.getParent());
    }
    if (!fs.rename(from, to)) {
      throw new IOException(
          "Cannot move "
              + source
              + " to "
              + target
              + ": the file system refused the rename (does the source exist?)");
    }
  }

  @Override
  public void mkdirs(String dir) throws IOException {
    Path p = new Path(dir);
    count(RequestCounter::write);
    fileSystem(p).mkdirs(p);
  }

  /** A file read by byte ranges; see the class comment for the request pattern. */
  static final class HadoopInputFile implements InputFile {
    private final HadoopFileIO io;
    private final Path path;
    private long length;
    private final DiscoveredAdapter.AdapterFile listed; // null: not pinned

    HadoopInputFile(HadoopFileIO io, Path path, long length, DiscoveredAdapter.AdapterFile listed) {
      this.io = io;
      this.path = path;
      this.length = length;
      this.listed = listed;
    }

    @Override
    public String location() {
      return path.toString();
    }

    @Override
    public long length() throws IOException {
      if (length < 0) {
        io.count(RequestCounter::head);
        FileStatus status = io.fileSystem(path).getFileStatus(path);
        if (status.isDirectory()) {
          throw RegularFiles.notRegular(location(), "a directory");
        }
        requireRegularIfLocal();
        length = status.getLen();
      }
      return length;
    }

    /**
     * Hadoop's local file system calls everything that is not a directory a file, FIFOs included,
     * and opening a FIFO blocks until a writer comes; so local paths are checked with the local
     * file system's own view first (object stores have no such entries).
     */
    private void requireRegularIfLocal() throws IOException {
      FileSystem fs = io.fileSystem(path);
      java.io.File local =
          fs instanceof LocalFileSystem checksummed
              ? checksummed.pathToFile(path)
              : fs instanceof RawLocalFileSystem raw ? raw.pathToFile(path) : null;
      if (local != null) {
        RegularFiles.require(local.toPath(), location());
      }
    }

    @Override
    public void readFully(long position, byte[] buffer, int offset, int len) throws IOException {
      requireRegularIfLocal();
      FutureDataInputStreamBuilder builder =
          io.fileSystem(path)
              .openFile(path)
              .opt(
                  OpenFileOptions.FS_OPTION_OPENFILE_READ_POLICY,
                  OpenFileOptions.FS_OPTION_OPENFILE_READ_POLICY_RANDOM);
      if (length >= 0) {
        builder.optLong(OpenFileOptions.FS_OPTION_OPENFILE_LENGTH, length);
      }
      if (listed != null) {
        builder.withFileStatus(S3APinnedReads.listed(path, listed));
      }
      io.count(c -> c.get(len));
      try (FSDataInputStream in = FutureIO.awaitFuture(builder.build())) {
        in.readFully(position, buffer, offset, len);
      } catch (EOFException e) {
        EOFException wrapped =
            new EOFException(
                location()
                    + ": wanted "
                    + len
                    + " bytes at offset "
                    + position
                    + " but the file is shorter ("
                    + e.getMessage()
                    + ")");
        wrapped.initCause(e);
        throw wrapped;
      } catch (FileNotFoundException e) {
        // A listed file gone is a drop-folder change too (the adapter deleted during the run),
        // not a storage fault to retry until the run fails.
        if (listed != null) {
          throw ChangedSinceDiscovery.deleted(io.pinned, listed);
        }
        throw e;
      } catch (IOException e) {
        if (listed != null && S3APinnedReads.refusedAsChanged(e)) {
          throw ChangedSinceDiscovery.refusedPinnedRead(io.pinned, listed);
        }
        throw e;
      }
    }
  }
}
