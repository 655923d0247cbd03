package org.loraquant.codec;

import java.util.ArrayList;
import java.util.List;

/**
 * The one declaration of every codec setting (issue 19, "settings declared once"): the name a user
 * gives it (the flag {@code --key} and the settings-file key {@code key}), the key of the codec
 * block in a compressed adapter's {@code adapter_config.json}, the key of the manifest's (and
 * {@code compress --stats}') layer lines, the key inside the settings fingerprint, the column of
 * the stats tables, and its help text.
 *
 * <p>The names are not all the same, and cannot be made so without changing bytes already written
 * (fingerprints decide what is up to date; the manifest and config are a stable format): the stats
 * column of {@link #REFINE} is {@code refine} while the JSON field is {@code refinement}; the
 * fingerprint spells {@link #GROUP_SIZE} {@code group} and {@link #SPLIT} {@code split}; the
 * budget is {@code budget} in the config block and fingerprint, {@code budget_bits} in the layer
 * lines and stats; its scope is {@code scope} in the config block and fingerprint, {@code
 * budget_scope} in the layer lines and stats; the fleet scope's weight likewise is {@code weight}
 * and {@code budget_weight}, and only the fleet scope writes it (outputs of the other scopes keep
 * their bytes and fingerprints). Everything that writes one of these names takes it
 * from here, so a new setting is added in one place and the names cannot drift further.
 */
public enum CodecSetting {
  RHO(ValueType.DOUBLE, Mode.PAPER, "R", "rho", "rho", "rho", "rho", "rho",
      "energy share of the high tier, in (0, 1]"),
  BITS_HIGH(ValueType.INT, Mode.PAPER, "B", "bits-high", "bits_high", "bits_high", "bits_high", "bits_high",
      "bits of the high tier, 1..8"),
  GROUP_SIZE(ValueType.INT, Mode.BOTH, "G", "group-size", "group_size", "group_size", "group", "group_size",
      "values per quantization group, at least 1"),
  SPLIT(ValueType.NAME, Mode.PAPER, "prefix|reference", "split", "split_rule", "split_rule", "split", "split_rule",
      "how h follows from rho: prefix or reference"),
  REFINE(ValueType.NAME, Mode.PAPER, "none|search", "refine", "refinement", "refinement", "refine", "refine",
      "search over group parameters: none or search"),
  BUDGET(ValueType.DOUBLE, Mode.BUDGET, "B", "budget", "budget", "budget_bits", "budget", "budget_bits",
      "target effective bits per parameter, in (0, 16]; selects the budget mode"),
  BUDGET_SCOPE(ValueType.NAME, Mode.BUDGET, "layer|adapter|fleet", "budget-scope", "scope", "budget_scope", "scope", "budget_scope",
      "over what the budget is spent: layer, adapter or fleet"),
  BUDGET_WEIGHT(ValueType.NAME, Mode.BUDGET, "energy|adapter", "budget-weight", "weight", "budget_weight", "weight", "budget_weight",
      "scope fleet only: how adapters' errors weigh, energy (pooled) or adapter (each by its own ||BA||^2)"),
  LEVELS(ValueType.NAME, Mode.BUDGET, "uniform|lloyd-max", "levels", "levels", "levels", "levels", "levels",
      "level family of widths 2..8: uniform or lloyd-max"),
  REFIT(ValueType.INT, Mode.BUDGET, "N", "refit", "refit", "refit", "refit", "refit",
      "least-squares refit steps after quantizing, at least 0");

  /** What a setting's value is, as the layer lines and the stats tables hold it. */
  public enum ValueType {
    DOUBLE,
    INT,
    /** A lower-case name, e.g. {@code prefix}. */
    NAME
  }

  /** Which codec mode a setting belongs to. */
  public enum Mode {
    PAPER,
    BUDGET,
    BOTH;

    public boolean includes(Mode mode) {
      return this == BOTH || this == mode;
    }
  }

  private final ValueType type;
  private final Mode mode;
  private final String value;
  private final String key;
  private final String configKey;
  private final String jsonKey;
  private final String fingerprintKey;
  private final String statsColumn;
  private final String help;

  CodecSetting(ValueType type, Mode mode, String value, String key, String configKey,
      String jsonKey, String fingerprintKey, String statsColumn, String help) {
    this.type = type;
    this.mode = mode;
    this.value = value;
    this.key = key;
    this.configKey = configKey;
    this.jsonKey = jsonKey;
    this.fingerprintKey = fingerprintKey;
    this.statsColumn = statsColumn;
    this.help = help;
  }

  public ValueType type() {
    return type;
  }

  public Mode mode() {
    return mode;
  }

  /**
   * What the flag takes, as usage lines write it: a letter for a number ({@code R}), the accepted
   * spellings for a name ({@code prefix|reference}).
   */
  public String value() {
    return value;
  }

  /**
   * The spellings a {@link ValueType#NAME} setting accepts, in the order usage lines and messages
   * give them; empty for a number.
   */
  public List<String> choices() {
    return type == ValueType.NAME ? List.of(value.split("\\|")) : List.of();
  }

  /** The settings-file key, e.g. {@code bits-high}. */
  public String key() {
    return key;
  }

  /** The command-line flag, e.g. {@code --bits-high}. */
  public String flag() {
    return "--" + key;
  }

  /** The key of the codec block in a compressed adapter's {@code adapter_config.json}. */
  public String configKey() {
    return configKey;
  }

  /** The key in the manifest's and {@code compress --stats}' layer lines. */
  public String jsonKey() {
    return jsonKey;
  }

  /** The key inside the settings fingerprint. */
  public String fingerprintKey() {
    return fingerprintKey;
  }

  /** The column of the stats tables (docs/STATS.md). */
  public String statsColumn() {
    return statsColumn;
  }

  public String help() {
    return help;
  }

  /** The settings of {@code mode} (and those of both modes), in declaration order. */
  public static List<CodecSetting> of(Mode mode) {
    List<CodecSetting> settings = new ArrayList<>();
    for (CodecSetting s : values()) {
      if (s.mode.includes(mode)) {
        settings.add(s);
      }
    }
    return settings;
  }

  /** The flags of {@code mode}'s settings, e.g. {@code --rho}. */
  public static List<String> flags(Mode mode) {
    List<String> flags = new ArrayList<>();
    for (CodecSetting s : values()) {
      if (s.mode == mode) {
        flags.add(s.flag());
      }
    }
    return flags;
  }
}
