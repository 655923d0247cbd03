package org.loraquant.linalg;

/**
 * Thin SVD of a product B A given by its factors, with k = min(r, m, n) components.
 *
 * <p>Inputs are column-major doubles: {@code b} is B (m x r, column j at {@code b[j * m ..]}) and
 * {@code at} is A^T (n x r, so row j of A is contiguous at {@code at[j * n ..]}; a row-major r x n
 * A has exactly this layout). Neither array is modified.
 */
public interface FactoredSvd {
  ThinSvd decompose(int m, int n, int r, double[] b, double[] at);
}
