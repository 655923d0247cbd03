package org.loraquant.plan;

import java.io.Serializable;

/**
 * One LoRA layer to compress: the adapter it belongs to (relative path), its module path, the
 * bytes of its two factors in the input, the measure of its cost (reading and the O((m + n) r^2)
 * SVD both grow with it), and where its factors start in the weights file, which orders an
 * adapter's layers as the file does (so neighbours in a task are neighbours on storage).
 *
 * <p>Or a whole small adapter not opened yet ({@link #wholeAdapter}): its layers are known only
 * once its task has read the file, so the planner places it as one unit of its listed file length,
 * which is never cut (see {@link RunPlanner#readWhole}).
 */
public record LayerWork(String adapter, String module, long bytes, long position)
    implements Serializable {
  public LayerWork {
    if (bytes < 0) {
      throw new IllegalArgumentException(adapter + " " + module + ": negative size " + bytes);
    }
    if (position < 0) {
      throw new IllegalArgumentException(adapter + " " + module + ": negative position " + position);
    }
  }

  /** The module name of a {@link #wholeAdapter} entry: no LoRA module has an empty path. */
  public static final String WHOLE_ADAPTER = "";

  /**
   * A whole adapter to be opened and compressed inside its task, costing {@code fileBytes} (its
   * weights file's listed length, header and pass-through tensors included).
   */
  public static LayerWork wholeAdapter(String adapter, long fileBytes) {
    return new LayerWork(adapter, WHOLE_ADAPTER, fileBytes, 0);
  }

  /** Whether this stands for a whole adapter, not one layer: see {@link #wholeAdapter}. */
  public boolean isWholeAdapter() {
    return module.equals(WHOLE_ADAPTER);
  }

  /** A layer whose place in the file does not matter (ordered by module name). */
  public LayerWork(String adapter, String module, long bytes) {
    this(adapter, module, bytes, 0);
  }
}
