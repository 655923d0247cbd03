package org.loraquant.codec;

import java.io.Serializable;

/**
 * The settings of one codec mode: the paper mode ({@link CodecSettings}, format version 1) or the
 * budget mode ({@link BudgetSettings}, format version 2). What a caller that handles both needs:
 * the fingerprint that decides whether an output is current, and each setting's value as the
 * stats and the layer lines write it.
 */
public sealed interface CompressionSettings extends Serializable
    permits CodecSettings, BudgetSettings {

  CodecSetting.Mode mode();

  /** {@code paper} or {@code budget}, as the stats' {@code mode} column says. */
  default String modeName() {
    return mode() == CodecSetting.Mode.BUDGET ? "budget" : "paper";
  }

  int groupSize();

  /**
   * The one check of a group size, for both modes (the setting is {@link CodecSetting#GROUP_SIZE}
   * in both).
   *
   * @throws IllegalArgumentException below 1
   */
  static void checkGroupSize(int groupSize) {
    if (groupSize < 1) {
      throw new IllegalArgumentException("Invalid group size: " + groupSize + "; must be >= 1, e.g. 128");
    }
  }

  /** Canonical text of everything that determines the output bytes; see the implementations. */
  String fingerprint();

  /**
   * The value of {@code setting} as the layer lines and the stats tables give it: a number, or a
   * lower-case name; null when this mode has no such setting (the paper mode's levels are
   * {@code uniform}, its only family).
   */
  Object value(CodecSetting setting);
}
