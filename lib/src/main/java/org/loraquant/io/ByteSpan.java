package org.loraquant.io;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A byte range [begin, end) of a file.
 *
 * <p>{@link #merge} turns the ranges a reader needs into the fewest reads under a memory bound: on
 * object storage each read is a request, which costs a round trip (tens of milliseconds on S3)
 * whatever its size, so neighbouring ranges are read together.
 */
public record ByteSpan(long begin, long end) {
  /** Gaps up to this are read through rather than costing another request (~10 ms of transfer). */
  public static final long MAX_GAP_READ_THROUGH = 1L << 20;

  public ByteSpan {
    if (begin < 0 || end < begin) {
      throw new IllegalArgumentException("bad byte range [" + begin + ", " + end + ")");
    }
  }

  public long length() {
    return end - begin;
  }

  public boolean contains(long position, long length) {
    return position >= begin && position + length <= end;
  }

  /**
   * The reads covering {@code spans}: sorted by position, overlapping or nearly adjacent ones (gap
   * at most {@link #MAX_GAP_READ_THROUGH}) merged as long as the merged read stays within {@code
   * maxReadBytes}. A single span longer than that is a read of its own.
   */
  public static List<ByteSpan> merge(List<ByteSpan> spans, long maxReadBytes) {
    List<ByteSpan> sorted = new ArrayList<>(spans);
    sorted.sort(Comparator.comparingLong(ByteSpan::begin).thenComparingLong(ByteSpan::end));
    List<ByteSpan> reads = new ArrayList<>();
    ByteSpan current = null;
    for (ByteSpan span : sorted) {
      if (current != null
          && span.begin - current.end <= MAX_GAP_READ_THROUGH
          && Math.max(current.end, span.end) - current.begin <= maxReadBytes) {
        current = new ByteSpan(current.begin, Math.max(current.end, span.end));
      } else {
        if (current != null) {
          reads.add(current);
        }
        current = span;
      }
    }
    if (current != null) {
      reads.add(current);
    }
    return reads;
  }
}
