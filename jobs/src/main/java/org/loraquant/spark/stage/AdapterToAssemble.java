package org.loraquant.spark.stage;

import java.io.Serializable;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.peft.OpenedAdapter;

/**
 * What assembly gets for an adapter besides its compressed layers: what its open stage read
 * (config and header, so assembly reads neither again) and what that cost in requests.
 */
public record AdapterToAssemble(OpenedAdapter opened, StorageRequests openRequests)
    implements Serializable {
  private static final long serialVersionUID = 1L;
}
