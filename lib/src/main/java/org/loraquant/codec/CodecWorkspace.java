package org.loraquant.codec;

import java.lang.ref.SoftReference;
import java.util.ArrayDeque;
import java.util.Iterator;
import org.loraquant.linalg.SkinnyProducts;

/**
 * The large work arrays of one {@link LoraQuantCodec#compress} call, of the budget mode's
 * decomposition inputs, encoding and refit ({@link BalancedLayer}, {@link BudgetCodec},
 * {@link LeastSquaresRefit}), and the scratch of its vector quantizer ({@link VectorQuantizer}),
 * kept per thread and reused from layer to layer. Allocating them fresh cost about a tenth of the
 * codec's time at 4096 x 4096 rank 16 (the JVM zeroes each one and it arrives cold in cache).
 * Arrays only grow, to the largest layer the thread has seen; the thread holds them through a soft
 * reference, so memory pressure can reclaim them between calls. Nothing returned by the codec
 * refers to them, and every user writes what it reads: an array arrives holding the previous
 * layer's numbers.
 *
 * <p>Every double array is at least {@link SkinnyProducts#paddedLength} long for its matrix,
 * so the codec's skinny products run in row blocks.
 */
final class CodecWorkspace {
  /**
   * Bytes of spare factor arrays ({@link #factorArray}) a thread keeps between layers: the B' and
   * A' of two 4096 x 11008 rank-64 layers.
   */
  static final long SPARE_FACTOR_BYTES = 32L << 20;
  private static final ThreadLocal<SoftReference<CodecWorkspace>> PER_THREAD = new ThreadLocal<>();

  private double[] bRows = new double[0];
  private double[] at = new double[0];
  private double[] bp = new double[0];
  private double[] ap = new double[0];
  private double[] bh = new double[0];
  private double[] ah = new double[0];
  private byte[] bCodes = new byte[0];
  private byte[] aCodes = new byte[0];
  private byte[] scratchCodes = new byte[0];
  private short[] scratchScales = new short[0];
  private byte[] scratchZeros = new byte[0];
  private double[] tableB = new double[0];
  private double[] tableA = new double[0];
  private double[] spareB = new double[0];
  private double[] spareA = new double[0];
  private double[] fitted = new double[0];
  private LloydMaxCoder lloydMaxCoder;
  /** Given back by {@link #giveBack}, the most recent first. */
  private final ArrayDeque<double[]> spareFactors = new ArrayDeque<>();
  private long spareFactorBytes;

  private CodecWorkspace() {}

  /** This thread's workspace; a call must not be nested inside another on the same thread. */
  static CodecWorkspace forCurrentThread() {
    SoftReference<CodecWorkspace> ref = PER_THREAD.get();
    CodecWorkspace workspace = ref == null ? null : ref.get();
    if (workspace == null) {
      workspace = new CodecWorkspace();
      PER_THREAD.set(new SoftReference<>(workspace));
    }
    return workspace;
  }

  /** B row-major, m x r. */
  double[] bRows(int m, int r) {
    return bRows = atLeast(bRows, SkinnyProducts.paddedLength(m, r));
  }

  /** A^T column-major (A row-major), n x r. */
  double[] at(int n, int r) {
    return at = atLeast(at, SkinnyProducts.paddedLength(n, r));
  }

  /** B' column-major, m x k. */
  double[] bp(int m, int k) {
    return bp = atLeast(bp, SkinnyProducts.paddedLength(m, k));
  }

  /** A'^T column-major, n x k. */
  double[] ap(int n, int k) {
    return ap = atLeast(ap, SkinnyProducts.paddedLength(n, k));
  }

  /** B^ column-major, m x k. */
  double[] bh(int m, int k) {
    return bh = atLeast(bh, SkinnyProducts.paddedLength(m, k));
  }

  /** A^^T column-major, n x k. */
  double[] ah(int n, int k) {
    return ah = atLeast(ah, SkinnyProducts.paddedLength(n, k));
  }

  /** Unpacked codes of B', one byte per value of the m x k matrix (all tiers share it). */
  byte[] bCodes(int m, int k) {
    return bCodes = bCodes.length >= m * k ? bCodes : new byte[m * k];
  }

  /** Unpacked codes of A'^T, n x k. */
  byte[] aCodes(int n, int k) {
    return aCodes = aCodes.length >= n * k ? aCodes : new byte[n * k];
  }

  /**
   * Codes of one budget-mode vector that are not kept ({@link VectorQuantizer#reconstruct}); its
   * scales and zero points below. They do not overlap any array above.
   */
  byte[] scratchCodes(int len) {
    return scratchCodes = scratchCodes.length >= len ? scratchCodes : new byte[len];
  }

  short[] scratchScales(int groups) {
    return scratchScales = scratchScales.length >= groups ? scratchScales : new short[groups];
  }

  byte[] scratchZeros(int groups) {
    return scratchZeros = scratchZeros.length >= groups ? scratchZeros : new byte[groups];
  }

  /**
   * The decoded values of one component's B' column and A' row while a rate-distortion table
   * measures it ({@link LazyRateDistortion#extend}): scratch, read only until the next call.
   * They do not overlap any array above.
   */
  double[] tableB(int m) {
    return tableB = atLeast(tableB, m);
  }

  double[] tableA(int n) {
    return tableA = atLeast(tableA, n);
  }

  /**
   * The budget mode's refit ({@link LeastSquaresRefit}): a candidate reconstruction of B' (m x p)
   * and of A'^T (n x p) for its p kept components, each the other half of a pair with
   * {@link #bh} / {@link #ah}, which the budget mode's encoding uses for the layer's
   * reconstruction (the paper mode's use of those ends with its call; the two are never nested).
   */
  double[] spareB(int m, int k) {
    return spareB = atLeast(spareB, SkinnyProducts.paddedLength(m, k));
  }

  double[] spareA(int n, int k) {
    return spareA = atLeast(spareA, SkinnyProducts.paddedLength(n, k));
  }

  /** The refit's least-squares factor (rows x p); it does not overlap any array above. */
  double[] fitted(int rows, int p) {
    return fitted = atLeast(fitted, SkinnyProducts.paddedLength(rows, p));
  }

  /** A Lloyd-Max group coder for groups of up to {@code groupSize} values. */
  LloydMaxCoder lloydMaxCoder(int groupSize) {
    if (lloydMaxCoder == null || lloydMaxCoder.groupSize() < groupSize) {
      lloydMaxCoder = new LloydMaxCoder(groupSize);
    }
    return lloydMaxCoder;
  }

  /**
   * An array of exactly {@code length} values for a budget-mode layer's balanced factors
   * ({@link BalancedLayer}), which outlive one call (scope {@code adapter} holds every layer's
   * until it is encoded): a spare one given back earlier, holding its last layer's numbers, or a
   * new one. The length is exactly what a new array would have, so everything that looks at it
   * (the blocked products, the held bytes) sees what it would see with a new one.
   */
  double[] factorArray(int length) {
    for (Iterator<double[]> it = spareFactors.iterator(); it.hasNext(); ) {
      double[] spare = it.next();
      if (spare.length == length) {
        it.remove();
        spareFactorBytes -= 8L * length;
        return spare;
      }
    }
    return new double[length];
  }

  /**
   * Keeps an array nothing refers to any more for {@link #factorArray}, within
   * {@link #SPARE_FACTOR_BYTES} (the oldest spares make room).
   */
  void giveBack(double[] array) {
    long bytes = 8L * array.length;
    if (bytes > SPARE_FACTOR_BYTES) {
      return;
    }
    while (spareFactorBytes + bytes > SPARE_FACTOR_BYTES) {
      spareFactorBytes -= 8L * spareFactors.removeLast().length;
    }
    spareFactors.addFirst(array);
    spareFactorBytes += bytes;
  }

  private static double[] atLeast(double[] current, int length) {
    return current.length >= length ? current : new double[length];
  }
}
