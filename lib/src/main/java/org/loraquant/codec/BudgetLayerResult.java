package org.loraquant.codec;

/** One layer of the budget mode: what is stored and what it cost. */
public record BudgetLayerResult(BudgetLayer layer, BudgetLayerStats stats)
    implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  /** B^ (m x k) and A^ (k x n) exactly as the codec measured them. */
  public DecodedLayer decode() {
    return layer.decode();
  }
}
