package org.loraquant.linalg;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.NativeBLAS;

/**
 * BLAS-3 products of tall, skinny matrices (thousands of rows, a few to a few hundred columns): the
 * Gram and cross products and the m x r times r x k products of the codec. With at most
 * {@link #MAX_BLOCKED_COLUMNS} columns, cross products and products are taken in blocks of
 * {@link #BLOCK_ROWS} rows, one dgemm per block accumulating into the result: OpenBLAS 0.3.21
 * (AVX-512 kernels) ran a 4096 x 16 cross product about twice as fast that way as in one call; at
 * 64 columns one call was faster again. The pure-Java BLAS is not hurt by the blocking, but its
 * dsyrk (a plain translation of the reference Fortran) is slower than its dgemm at every width, so
 * it never gets dsyrk.
 *
 * <p>Gram matrices of up to {@link #MAX_PANELLED_COLUMNS} columns and more than
 * {@link #BLOCK_ROWS} rows take only their upper triangle, {@link #GRAM_PANEL} columns per dgemm
 * over blocks of {@link #GRAM_BLOCK_ROWS} rows, and mirror it. A dgemm computes all of its
 * output, so narrow panels are what skips the lower triangle's work; OpenBLAS's dsyrk, which
 * should, was no faster than a full dgemm at 16 columns. At 4096 x 16: 25-26 us against 43 us
 * for full products in 512-row blocks; at 4096 x 64: 438 us against 646 us for dsyrk (540 against
 * 582 us row-major). Panels were no slower on either BLAS in any shape measured, 768 to 14336
 * rows of 4 to 32 columns and 4096 or 11008 rows of 48 or 64; from about 96 columns (row-major)
 * or 128 (column-major) dsyrk is faster again. Narrow panels do
 * less work per call, so they get larger row blocks; 2048 rows of 32 columns still sit in L2,
 * whereas one call over 11008 rows or more was slower. Up to {@link #BLOCK_ROWS} rows a Gram
 * matrix stays one call, the arithmetic small layers always had. See docs/BENCHMARKS.md, "Codec".
 *
 * <p>Blocked calls need padded arrays: netlib-java's bounds check assumes that every column of
 * an operand runs a full leading dimension from the block's offset, so a block starting at row i0
 * looks as if it reached i0 values past the end of the last column (and a row-major panel
 * starting at column c, c values past the end). An array of at least {@link #paddedLength}
 * values passes; a shorter one gets one unblocked call (same result up to rounding order).
 */
public final class SkinnyProducts {
  /** Rows per BLAS call on blocked operands. */
  public static final int BLOCK_ROWS = 512;
  /** Widest operand of a cross product or product that is taken in row blocks. */
  public static final int MAX_BLOCKED_COLUMNS = 32;
  /** Rows per BLAS call when a Gram matrix is taken by upper-triangle panels. */
  static final int GRAM_BLOCK_ROWS = 2048;
  /** Columns of the upper triangle per BLAS call. */
  static final int GRAM_PANEL = 4;
  /** Widest Gram matrix taken by triangle panels; wider ones get dsyrk (native) or full dgemm. */
  static final int MAX_PANELLED_COLUMNS = 64;

  private SkinnyProducts() {}

  /** Length of a column-major rows x cols array that blocked calls accept: one spare column. */
  public static int paddedLength(int rows, int cols) {
    return Math.addExact(Math.multiplyExact(rows, cols), rows);
  }

  /**
   * out (cols x cols, column-major, full and exactly symmetric) = X^T X for X (rows x cols)
   * stored row-major, i.e. X^T column-major with leading dimension cols. Row blocks of full
   * products are contiguous and need no padding; the triangle panels start at a column offset
   * and do (see the class comment).
   */
  public static void gramOfRowMajor(BLAS blas, int rows, int cols, double[] x, double[] out) {
    java.util.Arrays.fill(out, 0, cols * cols, 0.0);
    if (rows == 0 || cols == 0) {
      return;
    }
    if (takesTrianglePanels(rows, cols, x.length)) {
      upperTriangleByPanels(blas, rows, cols, x, true, out);
      mirrorUpper(cols, out);
      return;
    }
    if (cols > MAX_BLOCKED_COLUMNS && blas instanceof NativeBLAS) {
      blas.dsyrk("U", "N", cols, rows, 1.0, x, 0, cols, 0.0, out, 0, cols);
      mirrorUpper(cols, out);
      return;
    }
    for (int i0 = 0; i0 < rows; i0 += BLOCK_ROWS) {
      int len = Math.min(BLOCK_ROWS, rows - i0);
      blas.dgemm("N", "T", cols, cols, len, 1.0, x, i0 * cols, cols, x, i0 * cols, cols, 1.0,
          out, 0, cols);
    }
    // A native dgemm may sum entry (i, j) in another order than (j, i): keep the promise of an
    // exactly symmetric result on every path (callers read only the upper triangle today).
    mirrorUpper(cols, out);
  }

  /**
   * out (k x k, column-major, full and exactly symmetric) = X^T X for column-major X (rows x k)
   * with leading dimension rows.
   */
  public static void gramOfColumns(BLAS blas, int rows, int k, double[] x, double[] out) {
    if (takesTrianglePanels(rows, k, x.length)) {
      upperTriangleByPanels(blas, rows, k, x, false, out);
    } else if (k > MAX_BLOCKED_COLUMNS && rows > 0 && blas instanceof NativeBLAS) {
      blas.dsyrk("U", "T", k, rows, 1.0, x, 0, rows, 0.0, out, 0, k);
    } else {
      crossOfColumns(blas, rows, k, x, k, x, out);
    }
    mirrorUpper(k, out);
  }

  private static boolean takesTrianglePanels(int rows, int cols, int length) {
    return rows > BLOCK_ROWS && cols <= MAX_PANELLED_COLUMNS
        && length >= paddedLength(rows, cols);
  }

  /**
   * The upper triangle of X^T X (cols x cols, column-major; the strict lower triangle ends up
   * partly filled, for the caller to overwrite) for X rows x cols, stored column-major with
   * leading dimension rows, or row-major (X^T column-major with leading dimension cols).
   */
  private static void upperTriangleByPanels(BLAS blas, int rows, int cols, double[] x,
      boolean rowMajor, double[] out) {
    java.util.Arrays.fill(out, 0, cols * cols, 0.0);
    for (int i0 = 0; i0 < rows; i0 += GRAM_BLOCK_ROWS) {
      int len = Math.min(GRAM_BLOCK_ROWS, rows - i0);
      for (int c = 0; c < cols; c += GRAM_PANEL) {
        int width = Math.min(GRAM_PANEL, cols - c);
        // Columns c .. c + width - 1 of the Gram matrix, down to the diagonal block's last row.
        if (rowMajor) {
          blas.dgemm("N", "T", c + width, width, len, 1.0, x, i0 * cols, cols, x,
              i0 * cols + c, cols, 1.0, out, c * cols, cols);
        } else {
          blas.dgemm("T", "N", c + width, width, len, 1.0, x, i0, rows, x, i0 + c * rows, rows,
              1.0, out, c * cols, cols);
        }
      }
    }
  }

  /** Copies the upper triangle of a k x k column-major matrix onto the lower one. */
  private static void mirrorUpper(int k, double[] a) {
    for (int j = 0; j < k; j++) {
      for (int i = j + 1; i < k; i++) {
        a[i + j * k] = a[j + i * k];
      }
    }
  }

  /**
   * out (kx x ky, column-major) = X^T Y for column-major X (rows x kx) and Y (rows x ky), both
   * with leading dimension rows. X and Y may be the same array (a Gram matrix, filled in full).
   */
  public static void crossOfColumns(BLAS blas, int rows, int kx, double[] x, int ky, double[] y,
      double[] out) {
    java.util.Arrays.fill(out, 0, kx * ky, 0.0);
    if (rows == 0 || kx == 0 || ky == 0) {
      return;
    }
    if (rows <= BLOCK_ROWS || Math.max(kx, ky) > MAX_BLOCKED_COLUMNS
        || x.length < paddedLength(rows, kx) || y.length < paddedLength(rows, ky)) {
      blas.dgemm("T", "N", kx, ky, rows, 1.0, x, 0, rows, y, 0, rows, 0.0, out, 0, kx);
      return;
    }
    for (int i0 = 0; i0 < rows; i0 += BLOCK_ROWS) {
      int len = Math.min(BLOCK_ROWS, rows - i0);
      blas.dgemm("T", "N", kx, ky, len, 1.0, x, i0, rows, y, i0, rows, 1.0, out, 0, kx);
    }
  }

  /**
   * Y (rows x k) = X (rows x r) W (r x k), all column-major; X and Y with leading dimension rows,
   * W with leading dimension r.
   */
  public static void productOfColumns(BLAS blas, int rows, int r, double[] x, int k, double[] w,
      double[] y) {
    if (rows == 0 || k == 0) {
      return;
    }
    if (rows <= BLOCK_ROWS || k > MAX_BLOCKED_COLUMNS || x.length < paddedLength(rows, r)) {
      blas.dgemm("N", "N", rows, k, r, 1.0, x, 0, rows, w, 0, r, 0.0, y, 0, rows);
      return;
    }
    for (int i0 = 0; i0 < rows; i0 += BLOCK_ROWS) {
      int len = Math.min(BLOCK_ROWS, rows - i0);
      blas.dgemm("N", "N", len, k, r, 1.0, x, i0, rows, w, 0, r, 0.0, y, i0, rows);
    }
  }
}
