package org.loraquant.io;

import java.io.IOException;
import java.util.List;

/**
 * An {@link InputFile} that reads planned chunks of another, one whole chunk per request, and
 * serves the reads that fall inside a chunk from memory. A reader that asks for many small ranges
 * (a layer's two factors, layer after layer) then costs one request per chunk instead of one per
 * range, and holds at most one chunk at a time (the memory bound is the planner's chunk size, see
 * {@link ByteSpan#merge}). A read outside every chunk goes to the file as it is.
 *
 * <p>Not thread-safe: one task reads it.
 */
public final class ChunkedInputFile implements InputFile {
  private final InputFile file;
  private final List<ByteSpan> chunks;
  private ByteSpan loaded;
  private byte[] bytes;

  /** {@code chunks}: the reads to make, e.g. from {@link ByteSpan#merge}. */
  public ChunkedInputFile(InputFile file, List<ByteSpan> chunks) {
    this.file = file;
    this.chunks = List.copyOf(chunks);
  }

  @Override
  public String location() {
    return file.location();
  }

  @Override
  public long length() throws IOException {
    return file.length();
  }

  @Override
  public void readFully(long position, byte[] buffer, int offset, int len) throws IOException {
    if (loaded == null || !loaded.contains(position, len)) {
      ByteSpan chunk = chunkHolding(position, len);
      if (chunk == null) {
        file.readFully(position, buffer, offset, len);
        return;
      }
      // Drop the old chunk first, so that two are never held at once.
      loaded = null;
      bytes = null;
      byte[] read = new byte[Math.toIntExact(chunk.length())];
      file.readFully(chunk.begin(), read, 0, read.length);
      loaded = chunk;
      bytes = read;
    }
    System.arraycopy(bytes, (int) (position - loaded.begin()), buffer, offset, len);
  }

  private ByteSpan chunkHolding(long position, int len) {
    for (ByteSpan chunk : chunks) {
      if (chunk.contains(position, len)) {
        return chunk.length() <= Integer.MAX_VALUE - 8 ? chunk : null;
      }
    }
    return null;
  }
}
