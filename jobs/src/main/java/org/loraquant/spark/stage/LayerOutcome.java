package org.loraquant.spark.stage;

import java.io.Serializable;
import org.loraquant.codec.BudgetLayerResult;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.codec.MeasuredLayer;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.io.HeldRanges;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.plan.LayerWork;
import org.loraquant.stats.AdapterStatus;

/**
 * One layer after the layer stage: compressed, or the reason it could not be (e.g. NaN factors);
 * in the budget mode's scope {@code fleet} also neither, for a healthy layer of an adapter that
 * another layer's failure left out of the allocation ({@link LayerStage#encodeMeasured}).
 *
 * @param result the compressed layer of the paper mode; null when {@code error} is set or in the
 *     budget mode
 * @param budgetResult the encoded layer of the budget mode; null when {@code error} is set or in
 *     the paper mode
 * @param error the reader's or codec's message; null on success
 * @param errorStatus FAILED, or INCOMPLETE when the file changed under the reader (an upload); null
 *     on success
 * @param requests the reads this layer caused: the read of the chunk it was the first layer of, or
 *     none when an earlier layer's chunk held it
 * @param measured the budget mode's scope {@code fleet} before the allocation: the layer measured
 *     (table and factors), persisted until it is encoded at its widths
 *     ({@link LayerStage#encodeMeasured}); null otherwise
 * @param openedInTask on the adapter's own outcome ({@link #isAdapterOutcome}) of a small adapter
 *     its task opened: what assembly needs of it; null otherwise, and when it could not be opened
 *     ({@code error} says why)
 */
public record LayerOutcome(
    String adapter,
    String module,
    CompressedLayerResult result,
    String error,
    AdapterStatus errorStatus,
    StorageRequests requests,
    BudgetLayerResult budgetResult,
    MeasuredLayer measured,
    OpenedInTask openedInTask)
    implements Serializable {
  private static final long serialVersionUID = 5L;

  /**
   * A small adapter that a layer task opened itself ({@link TaskReads}): its config and header,
   * and the bytes of its pass-through tensors, which that task read with the rest of the file, so
   * assembly reads nothing of the adapter again.
   */
  public record OpenedInTask(OpenedAdapter opened, HeldRanges passThrough)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /**
   * The own outcome of a small adapter opened in its task ({@link LayerWork#wholeAdapter}), one per
   * such adapter whatever its layers: it carries the adapter to assembly, or why it could not be
   * opened (then it has no layers), and the requests of opening it.
   */
  static LayerOutcome ofAdapter(
      String adapter,
      OpenedInTask opened,
      String error,
      AdapterStatus errorStatus,
      StorageRequests requests) {
    return new LayerOutcome(adapter, LayerWork.WHOLE_ADAPTER, null, error, errorStatus, requests,
        null, null, opened);
  }

  /** Whether this is an adapter's own outcome, not a layer's: see {@link #ofAdapter}. */
  public boolean isAdapterOutcome() {
    return LayerWork.WHOLE_ADAPTER.equals(module);
  }

  /** A layer the paper mode compressed. */
  public static LayerOutcome paper(
      String adapter, String module, CompressedLayerResult result, StorageRequests requests) {
    return new LayerOutcome(adapter, module, result, null, null, requests, null, null, null);
  }

  /** A layer the budget mode encoded. */
  public static LayerOutcome budget(
      String adapter, String module, BudgetLayerResult result, StorageRequests requests) {
    return new LayerOutcome(adapter, module, null, null, null, requests, result, null, null);
  }

  /** A layer of the budget mode's scope {@code fleet}, measured and waiting for its widths. */
  public static LayerOutcome measured(
      String adapter, String module, MeasuredLayer measured, StorageRequests requests) {
    return new LayerOutcome(adapter, module, null, null, null, requests, null, measured, null);
  }

  /** A layer that could not be compressed: {@code error} says why, {@code status} how it counts. */
  public static LayerOutcome failed(
      String adapter,
      String module,
      String error,
      AdapterStatus status,
      StorageRequests requests) {
    return new LayerOutcome(adapter, module, null, error, status, requests, null, null, null);
  }

  /**
   * A healthy layer of an adapter that another layer's failure left out of the fleet allocation:
   * neither encoded nor failed itself.
   */
  public static LayerOutcome leftOut(String adapter, String module, StorageRequests requests) {
    return new LayerOutcome(adapter, module, null, null, null, requests, null, null, null);
  }

  /**
   * Wall time of the layer on its executor, in nanoseconds (a measured layer: so far); 0 for a
   * failed layer.
   */
  long nanos() {
    if (result != null) {
      return result.stats().nanos();
    }
    if (budgetResult != null) {
      return budgetResult.stats().nanos();
    }
    return measured != null ? measured.nanos() : 0;
  }
}
