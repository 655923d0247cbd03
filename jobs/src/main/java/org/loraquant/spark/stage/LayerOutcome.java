package org.loraquant.spark.stage;

import java.io.Serializable;
import org.loraquant.codec.BudgetLayerResult;
import org.loraquant.codec.CompressedLayerResult;
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
 */
public record LayerOutcome(
    String adapter,
    String module,
    CompressedLayerResult result,
    String error,
    AdapterStatus errorStatus,
    StorageRequests requests,
    BudgetLayerResult budgetResult)
    implements Serializable {
  private static final long serialVersionUID = 3L;

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

  /** Wall time of the layer on its executor, in nanoseconds; 0 for a failed layer. */
  long nanos() {
    if (result != null) {
      return result.stats().nanos();
    }
    return budgetResult != null ? budgetResult.stats().nanos() : 0;
  }
}
