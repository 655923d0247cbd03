package org.loraquant.spark.stage;

import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.plan.LayerTask;
import org.loraquant.plan.LayerWork;

/**
 * A layer task as it goes to an executor: the planner's {@link LayerTask} and, for each adapter it
 * holds layers of, what the open stage read (config and header), so the task reads only tensors;
 * the small adapters it holds whole ({@link LayerWork#wholeAdapter}) it opens itself.
 *
 * @param adapters by relative path, the adapters of {@code task}'s layers that were opened before
 *     planning
 */
public record PlannedTask(LayerTask task, Map<String, OpenedAdapter> adapters)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public PlannedTask {
    adapters = Map.copyOf(adapters);
  }

  /**
   * For the layers of {@code task}, their adapters out of {@code opened}; a whole small adapter
   * ({@link LayerWork#wholeAdapter}) has none, its task opens it.
   */
  public static PlannedTask of(LayerTask task, Map<String, OpenedAdapter> opened) {
    Map<String, OpenedAdapter> mine = new TreeMap<>();
    for (LayerWork l : task.layers()) {
      if (!l.isWholeAdapter()) {
        mine.put(l.adapter(), opened.get(l.adapter()));
      }
    }
    return new PlannedTask(task, mine);
  }

  OpenedAdapter adapter(String relativePath) {
    OpenedAdapter opened = adapters.get(relativePath);
    if (opened == null) {
      throw new IllegalArgumentException(
          "task " + task.id() + " has no header for adapter '" + relativePath + "'");
    }
    return opened;
  }
}
