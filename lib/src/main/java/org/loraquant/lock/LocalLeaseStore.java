package org.loraquant.lock;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Lease files on a local disk. A file appears complete or not at all: it is written under a
 * temporary name (hidden from listings), then renamed to its name atomically, which also replaces
 * it on a renewal.
 */
public final class LocalLeaseStore implements LeaseStore {
  private final Path folder;

  public LocalLeaseStore(Path folder) {
    this.folder = folder;
  }

  @Override
  public String location() {
    return folder.toString();
  }

  @Override
  public List<Entry> list() throws IOException {
    List<Entry> entries = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(folder)) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        if (name.startsWith(".")) {
          continue; // a temporary file of a write in progress
        }
        try {
          BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
          if (attributes.isRegularFile()) {
            entries.add(new Entry(name, attributes.lastModifiedTime().toInstant()));
          }
        } catch (NoSuchFileException deletedMeanwhile) {
          // released between the listing and the look
        }
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return entries;
  }

  @Override
  public byte[] read(String name) throws IOException {
    try {
      return Files.readAllBytes(folder.resolve(name));
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  @Override
  public void write(String name, byte[] content) throws IOException {
    Path temporary = writeTemporary(content);
    try {
      Files.move(
          temporary,
          folder.resolve(name),
          StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.deleteIfExists(temporary);
      throw new IOException("cannot write " + folder.resolve(name) + " atomically", e);
    }
  }

  @Override
  public void delete(String name) throws IOException {
    Files.deleteIfExists(folder.resolve(name));
  }

  private Path writeTemporary(byte[] content) throws IOException {
    Files.createDirectories(folder);
    Path temporary = folder.resolve("." + UUID.randomUUID() + ".tmp");
    Files.write(temporary, content);
    return temporary;
  }
}
