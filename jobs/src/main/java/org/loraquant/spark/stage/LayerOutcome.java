package org.loraquant.spark.stage;

import java.io.Serializable;
import org.loraquant.codec.BudgetLayerResult;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.codec.MeasuredLayer;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.stats.AdapterStatus;

/**
 * One layer after the layer stage: compressed, or the reason it could not be (e.g. NaN factors).
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
 */
public record LayerOutcome(
    String adapter,
    String module,
    CompressedLayerResult result,
    String error,
    AdapterStatus errorStatus,
    StorageRequests requests,
    BudgetLayerResult budgetResult,
    MeasuredLayer measured)
    implements Serializable {
  private static final long serialVersionUID = 4L;

  public LayerOutcome(
      String adapter,
      String module,
      CompressedLayerResult result,
      String error,
      AdapterStatus errorStatus,
      StorageRequests requests,
      BudgetLayerResult budgetResult) {
    this(adapter, module, result, error, errorStatus, requests, budgetResult, null);
  }

  public LayerOutcome(
      String adapter,
      String module,
      CompressedLayerResult result,
      String error,
      AdapterStatus errorStatus) {
    this(adapter, module, result, error, errorStatus, StorageRequests.NONE);
  }

  public LayerOutcome(
      String adapter,
      String module,
      CompressedLayerResult result,
      String error,
      AdapterStatus errorStatus,
      StorageRequests requests) {
    this(adapter, module, result, error, errorStatus, requests, null);
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
