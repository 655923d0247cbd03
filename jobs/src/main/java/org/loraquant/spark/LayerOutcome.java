package org.loraquant.spark;

import java.io.Serializable;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.hadoop.StorageRequests;

/**
 * One layer after the layer stage: compressed, or the reason it could not be (e.g. NaN factors).
 *
 * @param result the compressed layer; null when {@code error} is set
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
    StorageRequests requests)
    implements Serializable {
  private static final long serialVersionUID = 2L;

  public LayerOutcome(
      String adapter,
      String module,
      CompressedLayerResult result,
      String error,
      AdapterStatus errorStatus) {
    this(adapter, module, result, error, errorStatus, StorageRequests.NONE);
  }
}
