package org.loraquant.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.zip.CRC32C;
import org.loraquant.codec.BudgetLayer;
import org.loraquant.codec.GroupGeometry;
import org.loraquant.codec.LevelFamily;
import org.loraquant.codec.VectorCode;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.safetensors.DType;

/**
 * Owns the byte layout of one layer of the budget mode inside the compressed safetensors file
 * (format version 2, docs/FORMAT.md "Version 2"). For module path {@code M}:
 *
 * <pre>
 * M.lq.meta2     I32 [6]        m, n, rank, k, level family (1 uniform, 2 lloyd-max), group size g
 * M.lq.widths    U8  [k]        width of each component, 0 (dropped) .. 8
 * M.lq.b.codes   U8  [ceil(m * W / 8)]   W = sum of the widths: the kept columns of B' in
 *                                        component order, each value's code at its component's
 *                                        width, one continuous LSB-first bit stream
 * M.lq.b.scales  F16 [K * ceil(m/g)]     K = kept components; per kept column, its groups in order
 * M.lq.b.zeros   U8  [Z * ceil(m/g)]     uniform family only, Z = components of width >= 2; absent
 *                                        when Z is 0 or the family is lloyd-max
 * M.lq.a.codes, M.lq.a.scales, M.lq.a.zeros   the same for the kept rows of A', length n
 * M.lq.crc       I32 [1]        CRC-32C (Castagnoli) of the data bytes of the tensors above, in
 *                               the order listed, as an unsigned 32-bit value
 * </pre>
 *
 * The names never clash with version 1's ({@code M.lq.meta}, {@code M.lq.t{i}.*}), and contain
 * {@code .lq.}, the infix reserved for layer tensors. All integers are little-endian. The CRC is
 * verified on every read: a damaged byte is refused with the layer's name.
 */
public final class BudgetLayerLayout {
  private BudgetLayerLayout() {}

  private static final int META_LENGTH = 6;

  public static String metaName(String module) {
    return module + CompressedLayerLayout.SUFFIX + "meta2";
  }

  /** The width map's tensor, {@code M.lq.widths}. */
  public static String widthsName(String module) {
    return name(module, "widths");
  }

  static String name(String module, String part) {
    return module + CompressedLayerLayout.SUFFIX + part;
  }

  /** The tensors that store {@code layer} under {@code module}, in a fixed order, CRC last. */
  public static List<NamedTensor> toTensors(String module, BudgetLayer layer) {
    List<NamedTensor> out = new ArrayList<>();
    int k = layer.k();
    out.add(new NamedTensor(metaName(module), DType.I32, new long[] {META_LENGTH},
        ints(layer.m(), layer.n(), layer.rank(), k, layer.levels().id(), layer.groupSize())));
    byte[] widths = new byte[k];
    for (int i = 0; i < k; i++) {
      widths[i] = (byte) layer.widths()[i];
    }
    out.add(new NamedTensor(name(module, "widths"), DType.U8, new long[] {k}, widths));
    addSide(out, module, "b.", layer.b(), layer.m());
    addSide(out, module, "a.", layer.a(), layer.n());
    out.add(new NamedTensor(name(module, "crc"), DType.I32, new long[] {1}, ints(crc(out))));
    return out;
  }

  private static void addSide(List<NamedTensor> out, String module, String side, VectorCode[] codes,
      int length) {
    long bits = 0;
    int scaleCount = 0;
    int zeroCount = 0;
    for (VectorCode c : codes) {
      if (c != null) {
        bits += (long) c.bits() * length;
        scaleCount += c.scales().length;
        zeroCount += c.zeros().length;
      }
    }
    byte[] packed = new byte[Math.toIntExact(GroupGeometry.bytesForBits(bits))];
    ByteBuffer scales = ByteBuffer.allocate(scaleCount * 2).order(ByteOrder.LITTLE_ENDIAN);
    byte[] zeros = new byte[zeroCount];
    long bit = 0;
    int z = 0;
    for (VectorCode c : codes) {
      if (c == null) {
        continue;
      }
      for (byte q : c.codes()) {
        bit = put(packed, bit, q & 0xff, c.bits());
      }
      for (short s : c.scales()) {
        scales.putShort(s);
      }
      System.arraycopy(c.zeros(), 0, zeros, z, c.zeros().length);
      z += c.zeros().length;
    }
    out.add(new NamedTensor(name(module, side + "codes"), DType.U8, new long[] {packed.length}, packed));
    out.add(new NamedTensor(name(module, side + "scales"), DType.F16, new long[] {scaleCount},
        scales.array()));
    if (zeroCount > 0) {
      out.add(new NamedTensor(name(module, side + "zeros"), DType.U8, new long[] {zeroCount}, zeros));
    }
  }

  /** Bytes the layer occupies in the data area of the file: the sum of its tensors' sizes. */
  public static long storedBytes(String module, BudgetLayer layer) {
    long n = 0;
    for (NamedTensor t : toTensors(module, layer)) {
      n += t.data().length;
    }
    return n;
  }

  /**
   * Rebuilds a layer from its tensors, checking every size against the meta and widths before it
   * is used (a decoded factor must fit one array), the CRC-32C, then that every scale is finite. {@code lookup} returns a tensor by name or null; {@code file} is
   * named in errors.
   */
  public static BudgetLayer fromTensors(String module, Function<String, NamedTensor> lookup,
      String file) {
    String metaName = metaName(module);
    NamedTensor metaTensor = require(lookup, metaName, DType.I32, META_LENGTH, file);
    int[] meta = new int[META_LENGTH];
    ByteBuffer.wrap(metaTensor.data()).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(meta);
    int m = meta[0];
    int n = meta[1];
    int rank = meta[2];
    int k = meta[3];
    int groupSize = meta[5];
    if (m < 0 || n < 0 || rank < 0 || k < 0 || k > Math.min(rank, Math.min(m, n))
        || groupSize < 1) {
      throw new InvalidAdapterException(file, metaName, "inconsistent layer meta "
          + Arrays.toString(meta) + " (expected m, n, rank, k, levels, group size with"
          + " 0 <= k <= min(rank, m, n) and group size >= 1)");
    }
    LevelFamily levels;
    try {
      levels = LevelFamily.ofId(meta[4]);
    } catch (IllegalArgumentException e) {
      throw new InvalidAdapterException(file, metaName, e.getMessage());
    }
    // Dropped components and rank above k cost no stored bytes, so a factor's size must be bounded
    // here, before the reader's adapter-wide bounds could be passed by a file of a few MB.
    if ((long) m * rank > CompressedLayerLayout.MAX_FACTOR_VALUES
        || (long) rank * n > CompressedLayerLayout.MAX_FACTOR_VALUES) {
      throw new InvalidAdapterException(file, metaName, "a " + m + " x " + n + " layer of rank " + rank
          + " decodes to factors of " + (long) m * rank + " and " + (long) rank * n
          + " values; one factor may hold at most " + CompressedLayerLayout.MAX_FACTOR_VALUES);
    }
    List<NamedTensor> read = new ArrayList<>();
    read.add(metaTensor);
    NamedTensor widthTensor = require(lookup, name(module, "widths"), DType.U8, k, file);
    read.add(widthTensor);
    int[] widths = new int[k];
    for (int i = 0; i < k; i++) {
      widths[i] = widthTensor.data()[i] & 0xff;
      if (widths[i] > 8) {
        throw new InvalidAdapterException(file, widthTensor.name(),
            "component " + i + " has width " + widths[i] + ", expected 0..8");
      }
    }
    VectorCode[] b = readSide(lookup, module, "b.", widths, levels, m, groupSize, file, read);
    VectorCode[] a = readSide(lookup, module, "a.", widths, levels, n, groupSize, file, read);
    String crcName = name(module, "crc");
    NamedTensor crcTensor = require(lookup, crcName, DType.I32, 1, file);
    int stored = ByteBuffer.wrap(crcTensor.data()).order(ByteOrder.LITTLE_ENDIAN).getInt();
    int computed = crc(read);
    if (stored != computed) {
      throw new InvalidAdapterException(file, crcName, String.format(
          "CRC-32C mismatch (stored %08x, computed %08x): the layer's bytes are damaged",
          stored, computed));
    }
    // After the CRC, so that a damaged byte is reported as damage; a crafted file whose CRC
    // matches must still not decode into non-finite weights.
    requireFiniteScales(lookup.apply(name(module, "b.scales")), file);
    requireFiniteScales(lookup.apply(name(module, "a.scales")), file);
    try {
      return new BudgetLayer(m, n, rank, levels, groupSize, widths, b, a);
    } catch (IllegalArgumentException e) {
      throw new InvalidAdapterException(file, metaName, e.getMessage());
    }
  }

  private static VectorCode[] readSide(Function<String, NamedTensor> lookup, String module,
      String side, int[] widths, LevelFamily levels, int length, int groupSize, String file,
      List<NamedTensor> read) {
    int groups = GroupGeometry.groupsPerVector(length, groupSize);
    long bits = 0;
    long scaleCount = 0;
    long zeroCount = 0;
    for (int w : widths) {
      if (w > 0) {
        bits += (long) w * length;
        scaleCount += groups;
        zeroCount += levels.hasZeroPoints(w) ? groups : 0;
      }
    }
    NamedTensor codes = require(lookup, name(module, side + "codes"), DType.U8,
        GroupGeometry.bytesForBits(bits), file);
    NamedTensor scales = require(lookup, name(module, side + "scales"), DType.F16, scaleCount, file);
    read.add(codes);
    read.add(scales);
    String zerosName = name(module, side + "zeros");
    NamedTensor zeros = null;
    if (zeroCount > 0) {
      zeros = require(lookup, zerosName, DType.U8, zeroCount, file);
      read.add(zeros);
    } else if (lookup.apply(zerosName) != null) {
      throw new InvalidAdapterException(file, zerosName,
          "present, but no component of this layer has zero points");
    }
    ByteBuffer scaleBuffer = ByteBuffer.wrap(scales.data()).order(ByteOrder.LITTLE_ENDIAN);
    VectorCode[] out = new VectorCode[widths.length];
    long bit = 0;
    int z = 0;
    for (int i = 0; i < widths.length; i++) {
      int w = widths[i];
      if (w == 0) {
        continue;
      }
      byte[] q = new byte[length];
      for (int j = 0; j < length; j++) {
        q[j] = (byte) get(codes.data(), bit, w);
        bit += w;
      }
      short[] s = new short[groups];
      for (int g = 0; g < groups; g++) {
        s[g] = scaleBuffer.getShort();
      }
      byte[] zp = new byte[levels.hasZeroPoints(w) ? groups : 0];
      if (zp.length > 0) {
        System.arraycopy(zeros.data(), z, zp, 0, zp.length);
        z += zp.length;
      }
      out[i] = new VectorCode(w, q, s, zp);
    }
    return out;
  }

  private static void requireFiniteScales(NamedTensor scales, String file) {
    short[] bits = new short[scales.data().length / 2];
    ByteBuffer.wrap(scales.data()).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(bits);
    CompressedLayerLayout.requireFiniteScales(bits, file, scales.name());
  }

  /** Writes the low {@code bits} bits of {@code value} at bit {@code bit}; returns the next bit. */
  private static long put(byte[] out, long bit, int value, int bits) {
    for (int t = 0; t < bits; t++, bit++) {
      if (((value >>> t) & 1) != 0) {
        out[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
      }
    }
    return bit;
  }

  private static int get(byte[] in, long bit, int bits) {
    int value = 0;
    for (int t = 0; t < bits; t++, bit++) {
      value |= ((in[(int) (bit >>> 3)] >>> (bit & 7)) & 1) << t;
    }
    return value;
  }

  private static int crc(List<NamedTensor> tensors) {
    CRC32C crc = new CRC32C();
    for (NamedTensor t : tensors) {
      crc.update(t.data());
    }
    return (int) crc.getValue();
  }

  private static NamedTensor require(Function<String, NamedTensor> lookup, String name,
      DType dtype, long numel, String file) {
    NamedTensor t = lookup.apply(name);
    if (t == null) {
      throw new InvalidAdapterException(file, name, "missing from the compressed file");
    }
    if (t.dtype() != dtype) {
      throw new InvalidAdapterException(file, name, "dtype " + t.dtype() + ", expected " + dtype);
    }
    if (!Arrays.equals(t.shape(), new long[] {numel}) || t.data().length != numel * dtype.size()) {
      throw new InvalidAdapterException(file, name, "shape " + Arrays.toString(t.shape()) + " ("
          + t.data().length + " bytes), expected [" + numel + "] for the layer's widths");
    }
    return t;
  }

  private static byte[] ints(int... values) {
    ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : values) {
      bb.putInt(v);
    }
    return bb.array();
  }
}
