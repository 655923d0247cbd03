package org.loraquant.io;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** {@link FileIO} on the local file system. */
public final class LocalFileIO implements FileIO {

  @Override
  public InputFile newInputFile(String path) {
    return new LocalInputFile(Path.of(path));
  }

  @Override
  public OutputFile newOutputFile(String path) {
    Path p = Path.of(path);
    return new OutputFile() {
      @Override
      public String location() {
        return p.toString();
      }

      @Override
      public OutputStream create() throws IOException {
        Path parent = p.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        return Files.newOutputStream(p);
      }
    };
  }

  @Override
  public boolean exists(String path) {
    return Files.exists(Path.of(path));
  }

  @Override
  public List<String> list(String dir) throws IOException {
    Path d = Path.of(dir);
    if (!Files.isDirectory(d)) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    try (Stream<Path> entries = Files.list(d)) {
      entries.forEach(e -> names.add(e.getFileName().toString()));
    }
    names.sort(null);
    return names;
  }

  /** See {@link FileIO#listRecursive(String, Predicate)}: one directory listing per folder entered. */
  @Override
  public List<ListedFile> listRecursive(String root, Predicate<String> enterFolder)
      throws IOException {
    String rootText = FolderPaths.withoutTrailingSlash(root);
    Path rootPath = Path.of(rootText);
    Path realRoot;
    try {
      realRoot = rootPath.toRealPath();
    } catch (NoSuchFileException e) {
      throw new FileNotFoundException(root);
    }
    List<ListedFile> files = new ArrayList<>();
    if (!Files.isDirectory(rootPath)) {
      listed(rootText, rootPath, realRoot, files);
      return files;
    }
    ArrayDeque<String> folders = new ArrayDeque<>(List.of(""));
    while (!folders.isEmpty()) {
      String folder = folders.pop();
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(rootPath.resolve(folder))) {
        for (Path entry : entries) {
          String relative = (folder.isEmpty() ? "" : folder + "/") + entry.getFileName();
          if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
            if (enterFolder.test(relative)) {
              folders.push(relative);
            }
          } else {
            listed(rootText + "/" + relative, entry, realRoot, files);
          }
        }
      } catch (NoSuchFileException e) {
        // Deleted while listing: nothing left to list there.
      }
    }
    return files;
  }

  /** Adds {@code file} unless it is a link leading outside {@code realRoot}, dangling or to a folder. */
  private static void listed(String path, Path file, Path realRoot, List<ListedFile> out)
      throws IOException {
    if (Files.isSymbolicLink(file)) {
      try {
        if (!file.toRealPath().startsWith(realRoot)) {
          return;
        }
      } catch (IOException e) {
        return; // a dangling link: nothing to read
      }
    }
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      return;
    }
    if (attrs.isRegularFile()) {
      out.add(new ListedFile(path, attrs.size(), attrs.lastModifiedTime().toMillis(), null));
    }
  }

  /** A symbolic link is not a directory here, even to one: writers never write through links. */
  @Override
  public boolean isDirectory(String path) {
    return Files.isDirectory(Path.of(path), LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public void delete(String path) throws IOException {
    Files.deleteIfExists(Path.of(path));
  }

  @Override
  public void deleteRecursively(String path) throws IOException {
    Path root = Path.of(path);
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
            if (exc != null) {
              throw exc;
            }
            Files.delete(dir);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  @Override
  public void renameDirectory(String source, String target) throws IOException {
    Path t = Path.of(target);
    if (Files.exists(t)) {
      throw new IOException("Cannot move " + source + " to " + target + ": target exists");
    }
    Path parent = t.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.move(Path.of(source), t, StandardCopyOption.ATOMIC_MOVE);
  }

  @Override
  public void mkdirs(String dir) throws IOException {
    Files.createDirectories(Path.of(dir));
  }

  /**
   * A local file read by positional reads; nothing is cached, nothing is read that is not asked for.
   * Every call first checks that the path is a regular file ({@link RegularFiles}), so a FIFO or a
   * directory in an adapter folder is refused instead of opened.
   */
  static final class LocalInputFile implements InputFile {
    private final Path path;

    LocalInputFile(Path path) {
      this.path = path;
    }

    @Override
    public String location() {
      return path.toString();
    }

    @Override
    public long length() throws IOException {
      return RegularFiles.require(path, location()).size();
    }

    @Override
    public void readFully(long position, byte[] buffer, int offset, int len) throws IOException {
      RegularFiles.require(path, location());
      try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
        ByteBuffer bb = ByteBuffer.wrap(buffer, offset, len);
        long pos = position;
        while (bb.hasRemaining()) {
          int n = ch.read(bb, pos);
          if (n < 0) {
            throw new java.io.EOFException(
                path + ": wanted " + len + " bytes at offset " + position + " but the file ends at "
                    + ch.size());
          }
          pos += n;
        }
      } catch (NoSuchFileException e) {
        throw e;
      } catch (UncheckedIOException e) {
        throw e.getCause();
      }
    }
  }
}
