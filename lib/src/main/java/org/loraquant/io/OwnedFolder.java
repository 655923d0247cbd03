package org.loraquant.io;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.loraquant.errors.LoraQuantException;

/**
 * Writes a folder of files that one writer owns, replacing only what it can prove is its own: the
 * files of its {@link Layout}, and its own staging folders. Whatever else the folder holds (a
 * user's files, a nested adapter's output, another writer's files) is never deleted or
 * overwritten; a folder that holds a file with one of our names but none of our signature files
 * (say a user's {@code adapter_config.json}) is refused outright.
 *
 * <p>Complete or absent: the layout's last file is the completion marker, written last and deleted
 * first. Where directory renames are atomic and the target holds nothing but our files, the
 * folder is staged beside the target and renamed into place; otherwise (object stores, or a
 * target that also holds other things) our files are written in place, marker last.
 *
 * <p>Requests: a writer that already knows what the folder holds (the job lists its whole output
 * root once, see {@link #write(FileIO, String, Layout, Map, Contents)}) does not look again; on an
 * object store a new folder then costs exactly one PUT per file, and one that replaces our own
 * output one DELETE of the marker more.
 */
public final class OwnedFolder {
  private OwnedFolder() {}

  /**
   * The files one writer puts in a folder.
   *
   * @param writer who writes it, for messages ("compress", "decompress")
   * @param writeOrder file names in the order they are written; the last is the completion marker
   *     (written last, deleted first), the first is deleted last
   * @param signatures names that only this writer uses: a folder holding one of them is ours,
   *     while one holding only shared names (e.g. {@code adapter_config.json}) is not
   */
  public record Layout(String writer, List<String> writeOrder, Set<String> signatures) {
    public Layout {
      writeOrder = List.copyOf(writeOrder);
      signatures = Set.copyOf(signatures);
      if (!writeOrder.containsAll(signatures)) {
        throw new IllegalArgumentException("signatures " + signatures + " not in " + writeOrder);
      }
      // What is written first must prove the folder ours: see writeInPlace.
      if (!signatures.contains(writeOrder.get(0))) {
        throw new IllegalArgumentException(
            "the first file " + writeOrder.get(0) + " is not a signature " + signatures);
      }
    }

    String completionMarker() {
      return writeOrder.get(writeOrder.size() - 1);
    }
  }

  /**
   * What a target path holds, as seen by one layout.
   *
   * @param exists something is at the path
   * @param folder it is a folder (false for a file, a link, or nothing)
   * @param ours entries named like the layout's files
   * @param others every other entry
   */
  public record Contents(boolean exists, boolean folder, List<String> ours, List<String> others)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    public Contents {
      ours = List.copyOf(ours);
      others = List.copyOf(others);
    }

    /** Nothing at the path. */
    public static final Contents ABSENT = new Contents(false, false, List.of(), List.of());

    /**
     * What a listing of the folder's entries gives for {@code layout}.
     *
     * @param names the names directly under the folder (files and folders), none when it is
     *     absent or empty
     */
    public static Contents ofFolder(Layout layout, java.util.Collection<String> names) {
      List<String> ours = new ArrayList<>();
      List<String> others = new ArrayList<>();
      for (String name : new java.util.TreeSet<>(names)) {
        (layout.writeOrder().contains(name) ? ours : others).add(name);
      }
      return new Contents(true, true, ours, others);
    }

    /** Absent, or an empty folder: anything may be written there. */
    public boolean isFree() {
      return !exists || (folder && ours.isEmpty() && others.isEmpty());
    }

    /** A previous output of this layout's writer: a folder holding one of its signature files. */
    public boolean holdsOurOutput(Layout layout) {
      return folder && ours.stream().anyMatch(layout.signatures()::contains);
    }

    /** Our-named files without a signature beside them: someone else's, never replaced. */
    boolean holdsForeignFileWithOurName(Layout layout) {
      return !ours.isEmpty() && !holdsOurOutput(layout);
    }
  }

  /** Lists {@code dir} and sorts its entries by the layout. */
  public static Contents inspect(FileIO io, String dir, Layout layout) throws IOException {
    String target = FolderPaths.withoutTrailingSlash(dir);
    if (!io.isDirectory(target)) {
      return new Contents(io.exists(target), false, List.of(), List.of());
    }
    return Contents.ofFolder(layout, io.list(target));
  }

  /**
   * Writes {@code files} (every name of the layout, nothing else) into {@code dir}, replacing a
   * previous output of the same layout there.
   *
   * @throws LoraQuantException if {@code dir} is not a folder, or holds a file with one of our
   *     names that is not provably ours; nothing is written or deleted then
   */
  public static void write(FileIO io, String dir, Layout layout, Map<String, byte[]> files)
      throws IOException {
    write(io, dir, layout, files, null);
  }

  /**
   * As {@link #write(FileIO, String, Layout, Map)}, trusting {@code known} for what {@code dir}
   * holds instead of asking the store, where the folder is written in place (object stores): the
   * caller listed it shortly before and nothing but this writer writes there meanwhile (the job
   * lists its output root once under its run lock). A folder that filled up since is still never
   * lost: in place only our own names are ever written. Where the folder is staged, {@code known}
   * is not used (see the comment inside).
   *
   * @param known what {@code dir} held, or null to look now
   */
  public static void write(
      FileIO io, String dir, Layout layout, Map<String, byte[]> files, Contents known)
      throws IOException {
    write(io, dir, layout, files, known, null);
  }

  /**
   * As {@link #write(FileIO, String, Layout, Map, Contents)}; where the folder is written in place,
   * the files before the completion marker are written together, all but one on {@code together}
   * (on an object store each PUT waits a round trip), the marker still last, once they all are;
   * into a folder that holds no signature yet, the first file (a signature) is written before
   * the others, so that no failure leaves only shared names there.
   *
   * @param together runs those writes (its threads daemons, enough of them free: a cached pool),
   *     or null to write one after another
   */
  public static void write(
      FileIO io, String dir, Layout layout, Map<String, byte[]> files, Contents known,
      Executor together)
      throws IOException {
    if (!files.keySet().equals(Set.copyOf(layout.writeOrder()))) {
      throw new IllegalArgumentException("files " + files.keySet() + " are not the layout " + layout.writeOrder());
    }
    String target = FolderPaths.withoutTrailingSlash(dir);
    // Where renames are atomic (local disks, HDFS) the writer stages, and staging must see an
    // empty folder left at the target (a killed replacement's), which a listing of files does not
    // show; there a look costs next to nothing, so it is taken. In place, an empty folder and none
    // are the same.
    Contents contents =
        known == null || io.atomicDirectoryRename()
            ? checkedContents(io, target, layout)
            : checked(known, target, layout);
    if (io.atomicDirectoryRename() && contents.others().isEmpty()) {
      writeStaged(io, target, layout, files, contents);
    } else {
      writeInPlace(io, target, layout, files, contents, together);
    }
  }

  private static Contents checkedContents(FileIO io, String target, Layout layout)
      throws IOException {
    return checked(inspect(io, target, layout), target, layout);
  }

  private static Contents checked(Contents contents, String target, Layout layout) {
    if (contents.exists() && !contents.folder()) {
      throw new LoraQuantException(target + " exists and is not a folder; " + layout.writer()
          + " writes a folder there only where there is nothing or a folder");
    }
    if (contents.holdsForeignFileWithOurName(layout)) {
      throw new LoraQuantException(target + " holds " + String.join(", ", contents.ours())
          + " but no " + String.join(" or ", layout.signatures().stream().sorted().toList())
          + ": not an output of " + layout.writer() + ", so it is left as it is");
    }
    return contents;
  }

  /**
   * Other things live in the folder (a nested adapter's output, say), or renames copy: our files
   * are replaced one by one, and the folder stops counting as complete first. Creating a file
   * creates its folder ({@link OutputFile#create}), so no folder is made beforehand: on an object
   * store that would cost a few requests and make an empty "folder" visible.
   */
  private static void writeInPlace(
      FileIO io, String target, Layout layout, Map<String, byte[]> files, Contents contents,
      Executor together)
      throws IOException {
    if (contents.ours().contains(layout.completionMarker())) {
      io.delete(target + "/" + layout.completionMarker());
    }
    List<String> beforeMarker = layout.writeOrder().subList(0, layout.writeOrder().size() - 1);
    if (together != null && !signatureStands(contents, layout)) {
      // Nothing yet proves the folder ours, so the first file (a signature) lands alone first: were
      // a shared name such as adapter_config.json to land beside a failed signature write, the
      // folder would hold only a file anyone may write, and every rerun would leave it alone.
      FileWrites.write(io, target + "/" + beforeMarker.get(0), files.get(beforeMarker.get(0)));
      beforeMarker = beforeMarker.subList(1, beforeMarker.size());
    }
    if (together == null) {
      for (String name : beforeMarker) {
        FileWrites.write(io, target + "/" + name, files.get(name));
      }
    } else {
      writeTogether(io, target, beforeMarker, files, together);
    }
    String marker = layout.completionMarker();
    FileWrites.write(io, target + "/" + marker, files.get(marker));
  }

  /**
   * Whether a signature file other than the completion marker (which an in-place write deletes
   * first) is in the folder already: then whatever lands beside it is provably ours.
   */
  private static boolean signatureStands(Contents contents, Layout layout) {
    return contents.ours().stream()
        .anyMatch(n -> layout.signatures().contains(n) && !n.equals(layout.completionMarker()));
  }

  /**
   * Writes {@code names} at once: the first on this thread, the others on {@code together}; returns
   * once every one has ended (none outlives the call), throwing the failure of the first name in
   * order that failed, as writing them one after another would have (the others are then not
   * started if they have not been yet).
   */
  private static void writeTogether(
      FileIO io, String target, List<String> names, Map<String, byte[]> files, Executor together)
      throws IOException {
    Throwable[] failures = new Throwable[names.size()];
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch ended = new CountDownLatch(names.size() - 1);
    for (int i = 1; i < names.size(); i++) {
      int at = i;
      together.execute(
          () -> {
            try {
              if (!stop.get()) {
                FileWrites.write(io, target + "/" + names.get(at), files.get(names.get(at)));
              }
            } catch (Throwable t) { // surfaces on the caller's thread, below
              failures[at] = t;
            } finally {
              ended.countDown();
            }
          });
    }
    try {
      FileWrites.write(io, target + "/" + names.get(0), files.get(names.get(0)));
    } catch (IOException | RuntimeException | Error e) {
      failures[0] = e;
      stop.set(true);
    }
    boolean interrupted = false;
    while (true) {
      try {
        ended.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // the writes under way end by themselves; none outlives this call
        stop.set(true);
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    for (Throwable failure : failures) { // the latch's await orders these reads after the writes
      if (failure instanceof IOException io2) {
        throw io2;
      } else if (failure instanceof RuntimeException runtime) {
        throw runtime;
      } else if (failure instanceof Error error) {
        throw error;
      } else if (failure != null) {
        throw new IOException(failure);
      }
    }
    if (interrupted) {
      throw new InterruptedIOException("interrupted writing " + target);
    }
  }

  /**
   * Stages the folder beside the target and renames it into place. A failure while staging leaves
   * a previous output untouched and still valid; the previous one's files go marker first, and the
   * folder itself only once it is empty (if anything appeared in it meanwhile, the delete fails and
   * nothing else is lost).
   *
   * <p>The target may also appear between the check and the rename: a nested adapter's writer
   * creates it as the parent of its own staging folder. The rename then fails, or (Hadoop's
   * semantics for an existing target) moves the staging folder inside it; either way the target
   * has no completion marker of ours afterwards, and our files are written in place instead.
   */
  private static void writeStaged(
      FileIO io, String target, Layout layout, Map<String, byte[]> files, Contents contents)
      throws IOException {
    String staging = FolderPaths.stagingSibling(target);
    try {
      writeFiles(io, staging, layout, files);
      boolean placed;
      try {
        if (contents.exists()) {
          List<String> deleteOrder = new ArrayList<>(layout.writeOrder());
          Collections.reverse(deleteOrder);
          for (String name : deleteOrder) {
            if (contents.ours().contains(name)) {
              io.delete(target + "/" + name);
            }
          }
          io.delete(target);
        }
        io.renameDirectory(staging, target);
        placed = io.exists(target + "/" + layout.completionMarker());
      } catch (IOException e) {
        if (io.list(target).isEmpty()) {
          throw e; // a failure of its own, not a folder that filled up meanwhile
        }
        placed = false;
      }
      if (!placed) {
        io.deleteRecursively(target + "/" + FolderPaths.nameOf(staging));
        writeInPlace(io, target, layout, files, checkedContents(io, target, layout), null);
      }
    } finally {
      io.deleteRecursively(staging);
    }
  }

  private static void writeFiles(FileIO io, String dir, Layout layout, Map<String, byte[]> files)
      throws IOException {
    io.mkdirs(dir);
    for (String name : layout.writeOrder()) {
      FileWrites.write(io, dir + "/" + name, files.get(name));
    }
  }

  /**
   * Removes the staging folders a killed writer of this same target left beside it. Only names of
   * our exact staging form, for this target, older than {@link FolderPaths#STALE_STAGING_AGE}:
   * a younger one may belong to a writer that is still running (a second attempt of the same
   * task), and nothing else in the parent folder is ours. Not part of {@link #write}: it lists the
   * parent folder, which for the job is the whole output root once per adapter; the job clears
   * leftovers from its one listing of the output instead, the command line before each write.
   */
  public static void removeStaleStaging(FileIO io, String target) throws IOException {
    String parent = FolderPaths.parentOf(target);
    long now = System.currentTimeMillis();
    for (String entry : io.list(parent.isEmpty() ? "." : parent)) {
      if (FolderPaths.isStaleStagingOf(target, entry, now)) {
        io.deleteRecursively(parent + entry);
      }
    }
  }
}
