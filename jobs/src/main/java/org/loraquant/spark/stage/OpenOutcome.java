package org.loraquant.spark.stage;

import java.io.Serializable;
import java.util.List;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.plan.LayerWork;
import org.loraquant.stats.AdapterStatus;

/**
 * Result of opening one adapter on an executor: its layers and what opening read (which travels
 * with the plan, so nothing reads the config or header again), or why it cannot be compressed.
 *
 * @param status COMPRESSED when the adapter opened (its layers are to be compressed), else FAILED
 *     or INCOMPLETE
 * @param message the reader's message when not opened, else null
 * @param openedAdapter the config and header bytes; null when not opened
 * @param requests what opening cost
 */
public record OpenOutcome(
    String adapter,
    AdapterStatus status,
    String message,
    List<LayerWork> layers,
    OpenedAdapter openedAdapter,
    StorageRequests requests)
    implements Serializable {
  private static final long serialVersionUID = 2L;

  public OpenOutcome {
    layers = List.copyOf(layers);
  }

  public boolean opened() {
    return status == AdapterStatus.COMPRESSED;
  }
}
