package org.loraquant.codec;

import java.io.Serializable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A layer's LoRA factors held in the fewest bytes that give back every float bit for bit
 * ({@link #factors}): each factor as bfloat16 when every value is one (its float's low 16 bits are
 * zero), else as binary16 when every value survives the trip through it, else as float32. Factors
 * read from a bfloat16 or float16 tensor take 2 bytes a value, as in the file, a quarter of the
 * doubles of their thin SVD (docs/ALGORITHM.md, "Fleet budget").
 *
 * <p>Which form is taken is decided by a full check (the value packed, unpacked and compared as
 * bits), never assumed from where the values came from, so {@link #factors} is exact for any
 * input. Little-endian bytes, so that Java serialisation writes them as one block.
 */
final class CompactFactors implements Serializable {
  private static final long serialVersionUID = 1L;

  private static final VarHandle SHORT_LE =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT_LE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  /** How one factor's values are held. */
  enum Form {
    /** 2 bytes a value: the float's upper half. */
    BFLOAT16(2),
    /** 2 bytes a value: IEEE binary16 ({@link Binary16}). */
    FLOAT16(2),
    /** 4 bytes a value: the float's bits. */
    FLOAT32(4);

    final int bytes;

    Form(int bytes) {
      this.bytes = bytes;
    }
  }

  private final int m;
  private final int n;
  private final int r;
  private final Form bForm;
  private final Form aForm;
  private final byte[] b;
  private final byte[] a;

  private CompactFactors(int m, int n, int r, Form bForm, byte[] b, Form aForm, byte[] a) {
    this.m = m;
    this.n = n;
    this.r = r;
    this.bForm = bForm;
    this.b = b;
    this.aForm = aForm;
    this.a = a;
  }

  /** The factors in their narrowest exact form; {@code factors} is not modified or kept. */
  static CompactFactors of(LoraFactors factors) {
    Form bForm = narrowest(factors.b());
    Form aForm = narrowest(factors.a());
    return new CompactFactors(factors.m(), factors.n(), factors.r(), bForm,
        pack(bForm, factors.b()), aForm, pack(aForm, factors.a()));
  }

  /** The factors, every float bit for bit as given to {@link #of}. */
  LoraFactors factors() {
    return new LoraFactors(m, n, r, unpack(bForm, b), unpack(aForm, a));
  }

  /** Bytes of values held. */
  long bytes() {
    return (long) b.length + a.length;
  }

  /** "m x n, rank r", for messages. */
  String shape() {
    return m + " x " + n + ", rank " + r;
  }

  Form bForm() {
    return bForm;
  }

  Form aForm() {
    return aForm;
  }

  private static Form narrowest(float[] values) {
    boolean bfloat16 = true;
    for (float v : values) {
      if ((Float.floatToRawIntBits(v) & 0xFFFF) != 0) {
        bfloat16 = false;
        break;
      }
    }
    if (bfloat16) {
      return Form.BFLOAT16;
    }
    for (float v : values) {
      if (Float.floatToRawIntBits(Binary16.toFloat(Binary16.fromFloat(v)))
          != Float.floatToRawIntBits(v)) {
        return Form.FLOAT32;
      }
    }
    return Form.FLOAT16;
  }

  private static byte[] pack(Form form, float[] values) {
    byte[] out = new byte[values.length * form.bytes];
    // One loop per form: these run over every value of a fleet.
    switch (form) {
      case BFLOAT16 -> {
        for (int i = 0; i < values.length; i++) {
          SHORT_LE.set(out, 2 * i, (short) (Float.floatToRawIntBits(values[i]) >>> 16));
        }
      }
      case FLOAT16 -> {
        for (int i = 0; i < values.length; i++) {
          SHORT_LE.set(out, 2 * i, Binary16.fromFloat(values[i]));
        }
      }
      case FLOAT32 -> {
        for (int i = 0; i < values.length; i++) {
          INT_LE.set(out, 4 * i, Float.floatToRawIntBits(values[i]));
        }
      }
    }
    return out;
  }

  private static float[] unpack(Form form, byte[] bytes) {
    float[] out = new float[bytes.length / form.bytes];
    switch (form) {
      case BFLOAT16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.intBitsToFloat(((short) SHORT_LE.get(bytes, 2 * i) & 0xFFFF) << 16);
        }
      }
      case FLOAT16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = Binary16.toFloat((short) SHORT_LE.get(bytes, 2 * i));
        }
      }
      case FLOAT32 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.intBitsToFloat((int) INT_LE.get(bytes, 4 * i));
        }
      }
    }
    return out;
  }
}
