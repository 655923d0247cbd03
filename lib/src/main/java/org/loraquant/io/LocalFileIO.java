package org.loraquant.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
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
