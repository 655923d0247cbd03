package org.loraquant.codec;

/**
 * The Lloyd-Max level tables of the budget mode (docs/ALGORITHM.md, "Budget mode"): for b = 2..8
 * bits, the 2^b levels that minimise the mean squared error of quantizing a unit Gaussian, as
 * binary32 numbers. They are constants of format v2, not data: a decoder holds the same table.
 * A group decodes as {@code level(bits, q) * scale} in binary32 arithmetic.
 *
 * <p>The levels are symmetric about 0, so only the 2^(b-1) positive ones are listed, ascending.
 * Code q (0 .. 2^b - 1) names the levels in ascending order: q below 2^(b-1) is the negative of
 * positive level 2^(b-1) - 1 - q, the others positive level q - 2^(b-1). The values were computed
 * with the Lloyd-Max iteration (cell centroids and midpoint thresholds) carried to convergence by
 * Newton's method and rounded to binary32; the test-side generator {@code LloydMaxDesign}
 * recomputes them and {@code LloydMaxLevelsTest} compares.
 */
final class LloydMaxLevels {
  /** POSITIVE[b] for b = 2..8; rows 0 and 1 are empty (1 bit is a sign code, not a table). */
  private static final float[][] POSITIVE = {
      {},
      {},
      // 2 bits: 2 positive levels
      {0.45278004f, 1.5104176f},
      // 3 bits: 4 positive levels
      {0.24509418f, 0.7560053f, 1.3439093f, 2.1519456f},
      // 4 bits: 8 positive levels
      {0.12839504f, 0.3880483f, 0.65675914f, 0.94234043f, 1.2562312f, 1.6180464f, 2.0690172f,
       2.7325895f},
      // 5 bits: 16 positive levels
      {0.06588966f, 0.19805183f, 0.3313783f, 0.4666995f, 0.6049336f, 0.7471357f, 0.8945651f,
       1.0487833f, 1.2118044f, 1.3863404f, 1.576228f, 1.7872332f, 2.0287285f, 2.3177395f,
       2.6911197f, 3.2607324f},
      // 6 bits: 32 positive levels
      {0.033409506f, 0.10027829f, 0.1672969f, 0.23456699f, 0.30219284f, 0.37028265f, 0.43894967f,
       0.5083138f, 0.578503f, 0.6496556f, 0.7219219f, 0.7954677f, 0.8704766f, 0.94715494f,
       1.0257363f, 1.1064882f, 1.1897202f, 1.2757945f, 1.365141f, 1.4582764f, 1.5558312f,
       1.6585889f, 1.7675419f, 1.8839773f, 2.0096111f, 2.1468103f, 2.2989812f, 2.471305f,
       2.6722739f, 2.9174068f, 3.240437f, 3.7441013f},
      // 7 bits: 64 positive levels
      {0.01682817f, 0.050490864f, 0.08417264f, 0.11788628f, 0.15164465f, 0.18546072f,
       0.21934764f, 0.25331873f, 0.28738755f, 0.32156795f, 0.35587403f, 0.3903203f, 0.42492166f,
       0.45969343f, 0.49465147f, 0.5298122f, 0.56519264f, 0.6008105f, 0.6366843f, 0.6728333f,
       0.70927787f, 0.74603915f, 0.78313965f, 0.82060295f, 0.8584542f, 0.89671993f, 0.9354285f,
       0.97461f, 1.0142967f, 1.0545232f, 1.0953267f, 1.1367474f, 1.1788286f, 1.2216175f,
       1.2651651f, 1.3095276f, 1.3547662f, 1.4009485f, 1.448149f, 1.49645f, 1.5459437f,
       1.5967331f, 1.6489339f, 1.702677f, 1.7581115f, 1.8154078f, 1.8747625f, 1.9364046f,
       2.0006018f, 2.0676715f, 2.1379933f, 2.2120275f, 2.2903392f, 2.3736343f, 2.4628115f,
       2.5590405f, 2.6638865f, 2.7795143f, 2.9090471f, 3.0572462f, 3.231933f, 3.4474304f,
       3.7349367f, 4.189694f},
      // 8 bits: 128 positive levels
      {0.008446193f, 0.025339384f, 0.042234983f, 0.059134603f, 0.07603986f, 0.092952356f,
       0.10987372f, 0.12680559f, 0.14374956f, 0.16070732f, 0.17768049f, 0.19467075f, 0.21167976f,
       0.2287092f, 0.24576078f, 0.26283622f, 0.27993724f, 0.2970656f, 0.31422305f, 0.3314114f,
       0.34863243f, 0.365888f, 0.38317996f, 0.40051022f, 0.41788065f, 0.4352932f, 0.45274988f,
       0.47025266f, 0.4878036f, 0.5054048f, 0.5230583f, 0.5407663f, 0.55853105f, 0.5763547f,
       0.5942396f, 0.6121881f, 0.6302026f, 0.6482855f, 0.6664394f, 0.68466675f, 0.70297027f,
       0.72135264f, 0.7398166f, 0.75836504f, 0.77700084f, 0.795727f, 0.8145467f, 0.833463f,
       0.8524793f, 0.8715989f, 0.8908253f, 0.91016203f, 0.92961293f, 0.9491818f, 0.9688726f,
       0.98868936f, 1.0086365f, 1.0287182f, 1.0489392f, 1.0693042f, 1.0898181f, 1.110486f,
       1.1313132f, 1.1523054f, 1.1734682f, 1.1948076f, 1.2163299f, 1.2380418f, 1.2599499f,
       1.2820615f, 1.304384f, 1.3269253f, 1.3496937f, 1.3726976f, 1.3959464f, 1.4194493f,
       1.4432166f, 1.4672587f, 1.491587f, 1.5162132f, 1.5411496f, 1.5664098f, 1.5920075f,
       1.6179578f, 1.6442765f, 1.6709803f, 1.6980875f, 1.7256169f, 1.7535894f, 1.7820269f,
       1.8109531f, 1.8403933f, 1.8703752f, 1.900928f, 1.9320842f, 1.9638784f, 1.9963485f,
       2.0295358f, 2.0634851f, 2.0982466f, 2.1338742f, 2.1704283f, 2.2079754f, 2.24659f,
       2.2863545f, 2.3273618f, 2.3697171f, 2.4135387f, 2.4589622f, 2.5061426f, 2.5552595f,
       2.6065214f, 2.660174f, 2.7165077f, 2.7758706f, 2.8386858f, 2.905473f, 2.9768822f,
       3.053742f, 3.1371326f, 3.2285001f, 3.3298485f, 3.4440718f, 3.575588f, 3.7316663f,
       3.9256377f, 4.1865954f, 4.6035357f},
  };

  private static final float[][] LEVELS = new float[9][];
  private static final double[][] THRESHOLDS = new double[9][];
  /** LEVELS widened to double, for loops that would otherwise widen each level they read. */
  private static final double[][] LEVELS_AS_DOUBLES = new double[9][];
  /**
   * A grid of {@link #GRID_CELLS} equal cells over [-GRID_EDGE, GRID_EDGE) with, per cell, the
   * code of the cell's lower edge: a cell (0.0015 wide) is narrower than the closest two thresholds
   * (0.0169 apart at 8 bits), so the code of any value in it is that code or the next. This
   * replaces a binary search (eight comparisons at 8 bits) by a lookup and one or two comparisons.
   */
  private static final int GRID_CELLS = 8192;
  private static final double GRID_EDGE = 6.0;
  private static final double GRID_SCALE = GRID_CELLS / (2 * GRID_EDGE);
  private static final short[][] GRID_CODE = new short[9][];

  static {
    for (int bits = 2; bits <= 8; bits++) {
      float[] positive = POSITIVE[bits];
      int half = positive.length;
      float[] levels = new float[2 * half];
      for (int j = 0; j < half; j++) {
        levels[half + j] = positive[j];
        levels[half - 1 - j] = -positive[j];
      }
      double[] thresholds = new double[levels.length - 1];
      for (int j = 0; j < thresholds.length; j++) {
        thresholds[j] = 0.5 * ((double) levels[j] + levels[j + 1]);
      }
      LEVELS[bits] = levels;
      double[] widened = new double[levels.length];
      for (int q = 0; q < levels.length; q++) {
        widened[q] = levels[q];
      }
      LEVELS_AS_DOUBLES[bits] = widened;
      THRESHOLDS[bits] = thresholds;
      short[] grid = new short[GRID_CELLS];
      for (int c = 0; c < GRID_CELLS; c++) {
        grid[c] = (short) nearestCodeBySearch(bits, -GRID_EDGE + c / GRID_SCALE);
      }
      GRID_CODE[bits] = grid;
    }
  }

  private LloydMaxLevels() {}

  /** The value of code q at this width, before scaling. */
  static float level(int bits, int q) {
    return LEVELS[bits][q];
  }

  /** Every level at this width, code order, as doubles: the table itself, not to be written. */
  static double[] levelsAsDoubles(int bits) {
    return LEVELS_AS_DOUBLES[bits];
  }

  /**
   * The 2^b - 1 midpoints between consecutive levels, ascending: the code of t is the number of
   * them at most t. The table itself, not to be written.
   */
  static double[] thresholds(int bits) {
    return THRESHOLDS[bits];
  }

  /** The 2^(b-1) positive levels, ascending (a copy). */
  static float[] positiveLevels(int bits) {
    requireTableWidth(bits);
    return POSITIVE[bits].clone();
  }

  /**
   * The code whose level is nearest to {@code t} (a value already divided by the group's scale):
   * the number of midpoints between consecutive levels that are at most t. The grid gives a
   * starting code and the two loops correct it, so the result is exactly that count whatever
   * the rounding of the cell index.
   */
  static int nearestCode(int bits, double t) {
    double[] thresholds = THRESHOLDS[bits];
    double u = (t + GRID_EDGE) * GRID_SCALE;
    int q;
    if (u >= 0 && u < GRID_CELLS) {
      q = GRID_CODE[bits][(int) u];
    } else {
      q = t < 0 ? 0 : thresholds.length;
    }
    while (q < thresholds.length && t >= thresholds[q]) {
      q++;
    }
    while (q > 0 && t < thresholds[q - 1]) {
      q--;
    }
    return q;
  }

  /** {@link #nearestCode} by binary search over the thresholds. */
  static int nearestCodeBySearch(int bits, double t) {
    double[] thresholds = THRESHOLDS[bits];
    int lo = 0;
    int hi = thresholds.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (thresholds[mid] <= t) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  static void requireTableWidth(int bits) {
    if (bits < 2 || bits > 8) {
      throw new IllegalArgumentException("Lloyd-Max tables cover 2..8 bits, got " + bits);
    }
  }
}
