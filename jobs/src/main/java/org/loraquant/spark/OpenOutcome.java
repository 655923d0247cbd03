package org.loraquant.spark;

import java.io.Serializable;
import java.util.List;
import org.loraquant.plan.LayerWork;

/**
 * Result of opening one adapter on an executor: its layers, or why it cannot be compressed.
 *
 * @param status COMPRESSED when the adapter opened (its layers are to be compressed), else FAILED
 *     or INCOMPLETE
 * @param message the reader's message when not opened, else null
 */
public record OpenOutcome(
    String adapter, AdapterStatus status, String message, List<LayerWork> layers)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public OpenOutcome {
    layers = List.copyOf(layers);
  }

  public boolean opened() {
    return status == AdapterStatus.COMPRESSED;
  }
}
