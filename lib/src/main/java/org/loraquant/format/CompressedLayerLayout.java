package org.loraquant.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.loraquant.codec.Binary16;
import org.loraquant.codec.CompressedLayer;
import org.loraquant.codec.GroupGeometry;
import org.loraquant.codec.PackedGroups;
import org.loraquant.codec.QuantTier;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.safetensors.DType;

/**
 * Owns the byte layout of one compressed LoRA layer inside the compressed safetensors file
 * (format version 1). For module path {@code M} (e.g. {@code base_model.model.model.layers.0.self_attn.q_proj}):
 *
 * <pre>
 * M.lq.meta              I32 [6]           m, n, rank, k, h, T (number of tiers)
 * M.lq.t{i}.info         I32 [4]           bits, first component, component count c, group size g
 * M.lq.t{i}.b.codes      U8  [ceil(c*m*bits/8)]  columns first..first+c-1 of B', column after column
 * M.lq.t{i}.b.scales     F16 [c, ceil(m/g)]      one scale per group down each column
 * M.lq.t{i}.b.zeros      U8  [c, ceil(m/g)]      zero points; absent when bits == 1
 * M.lq.t{i}.a.codes      U8  [ceil(c*n*bits/8)]  rows first..first+c-1 of A', row after row
 * M.lq.t{i}.a.scales     F16 [c, ceil(n/g)]
 * M.lq.t{i}.a.zeros      U8  [c, ceil(n/g)]      absent when bits == 1
 * </pre>
 *
 * Tiers are numbered 0..T-1 in component order and cover components 0..k-1 without gaps; an empty
 * tier is not written. Bit order and decoding are those of {@link PackedGroups}. All integers are
 * little-endian.
 */
public final class CompressedLayerLayout {
  private CompressedLayerLayout() {}

  static final String SUFFIX = ".lq.";
  private static final int META_LENGTH = 6;
  private static final int INFO_LENGTH = 4;
  /**
   * Most values one decoded factor (m x rank or rank x n) may have: the largest Java array, so
   * that decoding never overflows an index.
   */
  static final int MAX_FACTOR_VALUES = Integer.MAX_VALUE - 8;

  public static String metaName(String module) {
    return module + SUFFIX + "meta";
  }

  static String tierPrefix(String module, int tier) {
    return module + SUFFIX + "t" + tier + ".";
  }

  /** True if {@code tensorName} is the meta tensor of some module; returns that module or null. */
  public static String moduleOfMeta(String tensorName) {
    String tail = SUFFIX + "meta";
    return tensorName.endsWith(tail) ? tensorName.substring(0, tensorName.length() - tail.length()) : null;
  }

  /** True if {@code tensorName} belongs to a compressed layer (and so is not a pass-through). */
  public static boolean isLayerTensor(String tensorName) {
    return tensorName.contains(SUFFIX);
  }

  /** The tensors that store {@code layer} under {@code module}, in a fixed order. */
  public static List<NamedTensor> toTensors(String module, CompressedLayer layer) {
    List<NamedTensor> out = new ArrayList<>();
    out.add(new NamedTensor(metaName(module), DType.I32, new long[] {META_LENGTH},
        ints(layer.m(), layer.n(), layer.rank(), layer.k(), layer.h(), layer.tiers().size())));
    int i = 0;
    for (QuantTier tier : layer.tiers()) {
      String p = tierPrefix(module, i++);
      if (tier.b().groupSize() != tier.a().groupSize()) {
        throw new IllegalArgumentException(module + ": B and A groups differ in size");
      }
      out.add(new NamedTensor(p + "info", DType.I32, new long[] {INFO_LENGTH},
          ints(tier.bits(), tier.first(), tier.count(), tier.b().groupSize())));
      addGroups(out, p + "b.", tier.b());
      addGroups(out, p + "a.", tier.a());
    }
    return out;
  }

  private static void addGroups(List<NamedTensor> out, String prefix, PackedGroups g) {
    GroupGeometry geometry = g.geometry();
    long[] groupShape = {geometry.vectors(), geometry.groupsPerVector()};
    out.add(new NamedTensor(prefix + "codes", DType.U8, new long[] {g.codes().length}, g.codes()));
    ByteBuffer scales = ByteBuffer.allocate(g.scales().length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (short s : g.scales()) {
      scales.putShort(s);
    }
    out.add(new NamedTensor(prefix + "scales", DType.F16, groupShape, scales.array()));
    if (g.bits() > 1) {
      out.add(new NamedTensor(prefix + "zeros", DType.U8, groupShape, g.zeros()));
    }
  }

  /** Bytes the layer occupies in the data area of the file: the sum of its tensors' sizes. */
  public static long storedBytes(String module, CompressedLayer layer) {
    long n = 0;
    for (NamedTensor t : toTensors(module, layer)) {
      n += t.data().length;
    }
    return n;
  }

  /**
   * Rebuilds a layer from its tensors. {@code lookup} returns a tensor by name or null when the
   * file has none of that name; {@code file} is named in errors. Every size is checked against the
   * meta and info tensors, and those against each other, before it is used: k must be min(m, n,
   * rank) and each tier inside 0..k-1, so when k > 0 the stored codes and scales back m, n and k;
   * rank beyond k (zero components) is bounded by the reader ({@link #zeroPaddingValues}). The
   * decoded factors must fit one array each. Scales must be finite.
   */
  public static CompressedLayer fromTensors(String module, Function<String, NamedTensor> lookup, String file) {
    int[] meta = readInts(lookup, metaName(module), META_LENGTH, file);
    int m = meta[0];
    int n = meta[1];
    int rank = meta[2];
    int k = meta[3];
    int h = meta[4];
    int tierCount = meta[5];
    if (m < 0 || n < 0 || rank < 0 || k < 0 || h < 0 || h > k || k > rank || tierCount < 0) {
      throw new InvalidAdapterException(file, metaName(module),
          "inconsistent layer meta " + Arrays.toString(meta) + " (expected m, n, rank, k, h, tiers with 0 <= h <= k <= rank)");
    }
    if (k != Math.min(rank, Math.min(m, n))) {
      throw new InvalidAdapterException(file, metaName(module), "inconsistent layer meta " + Arrays.toString(meta)
          + ": k=" + k + " but a " + m + " x " + n + " layer of rank " + rank + " has k = min(m, n, rank) = "
          + Math.min(rank, Math.min(m, n)) + " components");
    }
    if ((long) m * rank > MAX_FACTOR_VALUES || (long) rank * n > MAX_FACTOR_VALUES) {
      throw new InvalidAdapterException(file, metaName(module), "a " + m + " x " + n + " layer of rank " + rank
          + " decodes to factors of " + (long) m * rank + " and " + (long) rank * n
          + " values; one factor may hold at most " + MAX_FACTOR_VALUES);
    }
    List<QuantTier> tiers = new ArrayList<>();
    for (int i = 0; i < tierCount; i++) {
      String p = tierPrefix(module, i);
      int[] info = readInts(lookup, p + "info", INFO_LENGTH, file);
      int bits = info[0];
      int first = info[1];
      int count = info[2];
      int groupSize = info[3];
      if (bits < 1 || bits > 8 || count < 0 || first < 0 || groupSize < 1) {
        throw new InvalidAdapterException(file, p + "info",
            "invalid tier info " + Arrays.toString(info) + " (expected bits 1..8, first >= 0, count >= 0, group size >= 1)");
      }
      if ((long) first + count > k) {
        throw new InvalidAdapterException(file, p + "info", "tier info " + Arrays.toString(info) + " claims components "
            + first + ".." + ((long) first + count - 1) + ", beyond the layer's k=" + k);
      }
      PackedGroups b = readGroups(lookup, p + "b.", bits, groupSize, count, m, file);
      PackedGroups a = readGroups(lookup, p + "a.", bits, groupSize, count, n, file);
      tiers.add(new QuantTier(bits, first, count, b, a));
    }
    try {
      return new CompressedLayer(m, n, rank, k, h, tiers);
    } catch (IllegalArgumentException e) {
      throw new InvalidAdapterException(file, metaName(module), e.getMessage());
    }
  }

  /**
   * Values of the zero components a layer of rank above k gets on decompression: (rank - k) x (m +
   * n). Nothing in the file backs them, so readers bound their sum over an adapter.
   */
  public static long zeroPaddingValues(CompressedLayer layer) {
    return ((long) layer.rank() - layer.k()) * ((long) layer.m() + layer.n());
  }

  private static PackedGroups readGroups(Function<String, NamedTensor> lookup, String prefix, int bits,
      int groupSize, int vectors, int length, String file) {
    // vectors <= k <= rank, and m x rank and rank x n fit an int: no product here overflows.
    GroupGeometry geometry = new GroupGeometry(bits, groupSize, vectors, length);
    long[] groupShape = {vectors, geometry.groupsPerVector()};
    byte[] codes =
        require(lookup, prefix + "codes", DType.U8, new long[] {geometry.codesBytes()}, file).data();
    byte[] scaleBytes = require(lookup, prefix + "scales", DType.F16, groupShape, file).data();
    short[] scales = new short[scaleBytes.length / 2];
    ByteBuffer.wrap(scaleBytes).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(scales);
    requireFiniteScales(scales, file, prefix + "scales");
    byte[] zeros = bits == 1 ? new byte[0] : require(lookup, prefix + "zeros", DType.U8, groupShape, file).data();
    if (bits == 1 && lookup.apply(prefix + "zeros") != null) {
      throw new InvalidAdapterException(file, prefix + "zeros", "a 1-bit tier has no zero points");
    }
    return new PackedGroups(bits, groupSize, vectors, length, codes, scales, zeros);
  }

  /** Refuses an infinite or NaN scale of tensor {@code name}: it would decode into non-finite weights. */
  static void requireFiniteScales(short[] scales, String file, String name) {
    for (int i = 0; i < scales.length; i++) {
      // Exponent all ones: infinity or NaN.
      if ((scales[i] & 0x7c00) == 0x7c00) {
        throw new InvalidAdapterException(file, name, "scale " + i + " is "
            + Binary16.toFloat(scales[i]) + " (binary16 bits 0x" + Integer.toHexString(scales[i] & 0xffff)
            + "); scales must be finite");
      }
    }
  }

  private static NamedTensor require(Function<String, NamedTensor> lookup, String name, DType dtype,
      long[] shape, String file) {
    NamedTensor t = lookup.apply(name);
    if (t == null) {
      throw new InvalidAdapterException(file, name, "missing from the compressed file");
    }
    if (t.dtype() != dtype) {
      throw new InvalidAdapterException(file, name, "dtype " + t.dtype() + ", expected " + dtype);
    }
    long expected;
    try {
      long numel = 1;
      for (long d : shape) {
        numel = Math.multiplyExact(numel, d);
      }
      expected = Math.multiplyExact(numel, (long) dtype.size());
    } catch (ArithmeticException e) {
      throw new InvalidAdapterException(file, name, "the layer's shape " + Arrays.toString(shape) + " of " + dtype
          + " overflows 64 bits");
    }
    if (t.data().length != expected) {
      throw new InvalidAdapterException(file, name,
          t.data().length + " bytes, expected " + expected + " for the layer's shape");
    }
    if (!Arrays.equals(t.shape(), shape)) {
      throw new InvalidAdapterException(file, name,
          "shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
    }
    return t;
  }

  private static int[] readInts(Function<String, NamedTensor> lookup, String name, int count, String file) {
    byte[] data = require(lookup, name, DType.I32, new long[] {count}, file).data();
    int[] values = new int[count];
    ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(values);
    return values;
  }

  private static byte[] ints(int... values) {
    ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : values) {
      bb.putInt(v);
    }
    return bb.array();
  }
}
