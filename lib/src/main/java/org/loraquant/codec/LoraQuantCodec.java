package org.loraquant.codec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.linalg.GramFactoredSvd;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.linalg.SkinnyProducts;
import org.loraquant.linalg.ThinSvd;

/**
 * LoRAQuant (docs/ALGORITHM.md): thin SVD of B A from its factors, B' = U sqrt(S), A' = sqrt(S)
 * V^T, the first h components quantized at bits_high (asymmetric round-to-nearest per group),
 * the rest as 1-bit sign codes, optionally refined by a search over group parameters.
 *
 * <p>Deterministic: the same factors, settings and LAPACK backend give the same bytes.
 * Thread-safe; the O((m + n) r) doubles of work arrays are reused from call to call on each
 * thread ({@link CodecWorkspace}).
 *
 * <p>Scales are stored as binary16 and the codec quantizes with the rounded scale, so
 * {@link #decode} reproduces the reconstruction behind the reported errors exactly.
 *
 * <p>Tiny scales: the balanced sqrt(S) split gives B' and A' the same magnitude, which keeps group
 * ranges well inside binary16. Measured on the 959 layers of shared/adapters/real (defaults): in
 * every layer with a non-zero update the smallest 2-bit scale is 1.4e-3 and the smallest 1-bit
 * scale 8.8e-5, all normal binary16 (>= 6.1e-5). Subnormal scales occur only in all-zero groups,
 * where the range floor 1e-5 gives a 2-bit scale of 3.3e-6 (subnormal, still nonzero, and every
 * value codes exactly to 0). Should a 1-bit mean fall below 3e-8 it rounds to scale 0 and the group
 * decodes to zeros, the closest value the format can hold. Scales above 65504 are clamped to 65504
 * (far outside LoRA magnitudes; the error stats would show it).
 *
 * <p>1-bit codes cannot hold 0: an all-zero group stores scale 0 and decodes to zeros (so zero
 * components, e.g. of a rank-deficient update, stay exactly zero); an isolated zero inside a
 * nonzero group is coded +scale, and mean|x| over the group (zeros included) is still the
 * least-squares scale for the +-1 code.
 *
 * <p>As docs/ALGORITHM.md step 4 describes it, the zero point is clamped to [0, 2^b - 1] while the range is
 * [min, max]; a group whose values all share one sign (rare in U columns, most likely in a short
 * tail group) therefore loses part of its range, e.g. a tail group of one positive value decodes
 * to about 1e-5. Refinement SEARCH also tries the range widened to include 0, which repairs it.
 */
public final class LoraQuantCodec {
  private LoraQuantCodec() {}

  /** Compresses with the LAPACK backend chosen by {@link LinearAlgebra#current()}. */
  public static CompressedLayerResult compress(LoraFactors factors, CodecSettings settings) {
    return compress(factors, settings, LinearAlgebra.current());
  }

  /**
   * Compresses one layer.
   *
   * @param factors B and A; not modified
   * @throws InvalidAdapterException if a factor holds NaN or infinity
   */
  public static CompressedLayerResult compress(LoraFactors factors, CodecSettings settings,
      LinearAlgebra linalg) {
    long started = System.nanoTime();
    int m = factors.m();
    int n = factors.n();
    int r = factors.r();
    CodecWorkspace work = CodecWorkspace.forCurrentThread();
    double[] bRows = toDoubles(factors.b(), work.bRows(m, r));
    double[] at = toDoubles(factors.a(), work.at(n, r));
    int kMax = Math.min(r, Math.min(m, n));
    GramFactoredSvd svdRoutes = new GramFactoredSvd(linalg);
    ThinSvd.Balanced svd = svdRoutes.balancedGramRoute(m, n, r, bRows, at, work.bp(m, kMax),
        work.ap(n, kMax));
    if (svd == null) {
      // The Gram route takes only finite factors, so only this route needs the scan.
      requireFinite(factors.b(), r, "B");
      requireFinite(factors.a(), n, "A");
      svd = svdRoutes.balancedHouseholderRoute(m, n, r, bRows, at);
    }
    int k = svd.k();
    double[] s = svd.s();
    double[] bp = svd.bp();
    double[] ap = svd.ap();
    TierPlan plan = settings.tierPlan(s);

    double[] bh = work.bh(m, k);
    double[] ah = work.ah(n, k);
    byte[] bCodes = work.bCodes(m, k);
    byte[] aCodes = work.aCodes(n, k);
    List<TierSpec> tiers = plan.tiers();
    QuantizedVectors[] bSides = new QuantizedVectors[tiers.size()];
    QuantizedVectors[] aSides = new QuantizedVectors[tiers.size()];
    for (int t = 0; t < tiers.size(); t++) {
      TierSpec spec = tiers.get(t);
      bSides[t] = QuantizedVectors.roundToNearest(spec.bits(), settings.groupSize(), spec.first(),
          spec.count(), m, bp, bh, bCodes);
      aSides[t] = QuantizedVectors.roundToNearest(spec.bits(), settings.groupSize(), spec.first(),
          spec.count(), n, ap, ah, aCodes);
    }
    ComponentErrorModel model = new ComponentErrorModel(linalg.blas(), m, n, s, bp, ap, bh, ah);
    double energy = model.energy();
    boolean zeroUpdate = energy == 0;

    if (settings.refinement() == Refinement.SEARCH && !zeroUpdate) {
      // Copies of this layer's part only: the reused arrays may be sized for a larger layer.
      double[] searchBh = Arrays.copyOf(bh, SkinnyProducts.paddedLength(m, k));
      double[] searchAh = Arrays.copyOf(ah, SkinnyProducts.paddedLength(n, k));
      QuantizedVectors[] searchB = new QuantizedVectors[tiers.size()];
      QuantizedVectors[] searchA = new QuantizedVectors[tiers.size()];
      for (int t = 0; t < tiers.size(); t++) {
        searchB[t] = bSides[t].copyInto(searchBh);
        searchA[t] = aSides[t].copyInto(searchAh);
      }
      ComponentErrorModel searchModel =
          new ComponentErrorModel(linalg.blas(), m, n, s, bp, ap, searchBh, searchAh);
      if (ClippingSearch.refine(searchModel, settings.groupSize(), searchB, searchA) > 0) {
        // Fresh Grams, not the incrementally updated ones, decide: never worse than NONE.
        ComponentErrorModel refined =
            new ComponentErrorModel(linalg.blas(), m, n, s, bp, ap, searchBh, searchAh);
        if (refined.squaredError(0, k) < model.squaredError(0, k)) {
          bSides = searchB;
          aSides = searchA;
          model = refined;
        }
      }
    }

    List<QuantTier> quantTiers = new ArrayList<>(tiers.size());
    long storedBits = 0;
    long payloadBits = 0;
    for (int t = 0; t < tiers.size(); t++) {
      TierSpec spec = tiers.get(t);
      PackedGroups packedB = bSides[t].toPacked();
      PackedGroups packedA = aSides[t].toPacked();
      quantTiers.add(new QuantTier(spec.bits(), spec.first(), spec.count(), packedB, packedA));
      storedBits += packedB.storedBits() + packedA.storedBits();
      payloadBits += (long) spec.bits() * spec.count() * (m + n);
    }
    CompressedLayer layer = new CompressedLayer(m, n, r, k, plan.h(), quantTiers);

    double highEnergy = 0;
    for (int i = 0; i < plan.h(); i++) {
      highEnergy += s[i] * s[i];
    }
    LayerStats stats = new LayerStats(m, n, r, k, plan.h(), toFloats(s),
        zeroUpdate ? 0 : highEnergy / energy,
        payloadBits, (long) r * (m + n), storedBits + LayerStats.LAYER_HEADER_BITS,
        relative(model.squaredError(0, k), energy),
        relative(model.squaredError(0, plan.h()), energy),
        relative(model.squaredError(plan.h(), k), energy),
        zeroUpdate, System.nanoTime() - started);
    return new CompressedLayerResult(layer, stats);
  }

  /** B^ (m x k) and A^ (k x n) exactly as the codec reconstructed them. */
  public static DecodedLayer decode(CompressedLayer layer) {
    return LayerDecoder.decode(layer);
  }

  private static double relative(double squaredError, double energy) {
    return energy == 0 ? 0 : Math.sqrt(squaredError / energy);
  }

  /**
   * A row-major float factor as doubles in {@code out}, same layout (row-major B is column-major
   * B^T; row-major A is column-major A^T). Finiteness is checked apart ({@link #requireFinite}):
   * a check in this loop kept the JIT from vectorizing it (twice as slow).
   */
  static double[] toDoubles(float[] src, double[] out) {
    for (int i = 0; i < src.length; i++) {
      out[i] = src[i];
    }
    return out;
  }

  /** Rejects a factor holding NaN or infinity, naming the first such entry (row, column). */
  static void requireFinite(float[] src, int cols, String name) {
    for (int i = 0; i < src.length; i++) {
      if (!Float.isFinite(src[i])) {
        throw InvalidAdapterException.inFactors("LoRA factor " + name + " holds a non-finite value "
            + src[i] + " at (" + i / cols + ", " + i % cols
            + "); the adapter is corrupt or diverged in training");
      }
    }
  }

  private static float[] toFloats(double[] x) {
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = (float) x[i];
    }
    return out;
  }
}
