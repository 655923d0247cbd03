package org.loraquant.codec;

/**
 * {@link Refinement#SEARCH}: coordinate descent over the parameters of each group, minimising
 * the layer's squared error ||B A - B^ A^||_F^2 exactly (through {@link ComponentErrorModel}).
 *
 * <p>Candidates per group: for affine groups, the range [min, max] and the range widened to
 * include 0 (which lets the zero point represent 0 exactly), each shrunk symmetrically and at
 * either end by fixed factors; for sign groups, fixed multiples of the mean-|x| scale. A pass
 * visits every group of every tier in a fixed order and moves to the best candidate if it lowers
 * the error; passes repeat until none improves or {@link #MAX_PASSES}. Starting from the
 * round-to-nearest state, the error never increases, and the order makes the result
 * deterministic.
 */
final class ClippingSearch {
  static final int MAX_PASSES = 3;
  private static final double[] SYMMETRIC_SHRINK = {1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5};
  private static final double[] ONE_SIDED_SHRINK = {0.9, 0.8, 0.7};
  private static final double[] SIGN_MULTIPLIERS = {0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.35};
  /** Relative improvement below which a move is noise, not progress. */
  private static final double MIN_GAIN = 1e-12;

  private final ComponentErrorModel model;
  private final double threshold;
  private final byte[] trialCodes;
  private final double[] trialRecon;
  private final byte[] bestCodes;
  private final double[] bestRecon;
  private final double[] move;

  private ClippingSearch(ComponentErrorModel model, int groupSize) {
    this.model = model;
    this.threshold = -MIN_GAIN * Math.max(model.energy(), Double.MIN_NORMAL);
    this.trialCodes = new byte[groupSize];
    this.trialRecon = new double[groupSize];
    this.bestCodes = new byte[groupSize];
    this.bestRecon = new double[groupSize];
    this.move = new double[groupSize];
  }

  /** Refines the given sides in place. Returns the number of accepted moves. */
  static int refine(ComponentErrorModel model, int groupSize, QuantizedVectors[] bSides,
      QuantizedVectors[] aSides) {
    ClippingSearch search = new ClippingSearch(model, groupSize);
    int accepted = 0;
    for (int pass = 0; pass < MAX_PASSES; pass++) {
      int before = accepted;
      for (int t = 0; t < bSides.length; t++) {
        accepted += search.sweep(bSides[t], true);
        accepted += search.sweep(aSides[t], false);
      }
      if (accepted == before) {
        break;
      }
    }
    return accepted;
  }

  private int sweep(QuantizedVectors qv, boolean bSide) {
    int accepted = 0;
    for (int v = 0; v < qv.count; v++) {
      for (int g = 0; g < qv.groupsPerVector; g++) {
        if (improveGroup(qv, bSide, v, g)) {
          accepted++;
        }
      }
    }
    return accepted;
  }

  private boolean improveGroup(QuantizedVectors qv, boolean bSide, int v, int g) {
    int start = qv.groupStart(v, g);
    int len = qv.groupLength(g);
    int component = qv.first + v;
    int offsetInVector = qv.geometry.groupStart(g);
    double bestDelta = threshold;
    int bestParams = 0;
    boolean found = false;
    if (qv.bits == 1) {
      for (double multiplier : SIGN_MULTIPLIERS) {
        int params = GroupEncoding.encodeSign(qv.source, start, len, multiplier, trialCodes, 0,
            trialRecon, 0) & 0xffff;
        double delta = evaluate(qv, bSide, component, start, offsetInVector, len);
        if (delta < bestDelta) {
          bestDelta = delta;
          bestParams = params;
          keepTrial(len);
          found = true;
        }
      }
    } else {
      double[] range = new double[2];
      QuantizedVectors.range(qv.source, start, len, range);
      double lo = range[0];
      double hi = range[1];
      double[][] bases = lo <= 0 && hi >= 0
          ? new double[][] {{lo, hi}}
          : new double[][] {{lo, hi}, {Math.min(lo, 0), Math.max(hi, 0)}};
      for (double[] base : bases) {
        for (int c = 0; c < SYMMETRIC_SHRINK.length + 2 * ONE_SIDED_SHRINK.length; c++) {
          double candLo = base[0];
          double candHi = base[1];
          if (c < SYMMETRIC_SHRINK.length) {
            candLo *= SYMMETRIC_SHRINK[c];
            candHi *= SYMMETRIC_SHRINK[c];
          } else if (c < SYMMETRIC_SHRINK.length + ONE_SIDED_SHRINK.length) {
            candLo *= ONE_SIDED_SHRINK[c - SYMMETRIC_SHRINK.length];
          } else {
            candHi *= ONE_SIDED_SHRINK[c - SYMMETRIC_SHRINK.length - ONE_SIDED_SHRINK.length];
          }
          int params = GroupEncoding.encodeAffine(qv.source, start, len, qv.bits, candLo, candHi,
              trialCodes, 0, trialRecon, 0);
          double delta = evaluate(qv, bSide, component, start, offsetInVector, len);
          if (delta < bestDelta) {
            bestDelta = delta;
            bestParams = params;
            keepTrial(len);
            found = true;
          }
        }
      }
    }
    if (!found) {
      return false;
    }
    for (int t = 0; t < len; t++) {
      move[t] = bestRecon[t] - qv.recon[start + t];
    }
    model.apply(bSide, component, offsetInVector, len, move);
    qv.replaceGroup(v, g, bestCodes, bestRecon, bestParams);
    return true;
  }

  private double evaluate(QuantizedVectors qv, boolean bSide, int component, int start,
      int offsetInVector, int len) {
    boolean changed = false;
    for (int t = 0; t < len; t++) {
      move[t] = trialRecon[t] - qv.recon[start + t];
      changed |= move[t] != 0;
    }
    return changed ? model.delta(bSide, component, offsetInVector, len, move) : 0;
  }

  private void keepTrial(int len) {
    System.arraycopy(trialCodes, 0, bestCodes, 0, len);
    System.arraycopy(trialRecon, 0, bestRecon, 0, len);
  }
}
