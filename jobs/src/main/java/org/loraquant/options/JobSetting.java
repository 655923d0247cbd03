package org.loraquant.options;

import java.util.ArrayList;
import java.util.List;
import org.loraquant.codec.CodecSetting;

/**
 * The one declaration of every setting of the nightly job beside the codec's ({@link
 * CodecSetting}): its flag, whether the settings file may hold it (its key is then the flag
 * without the dashes), what it takes, its default and least value, and its help line. The job's
 * parsing ({@code spark.JobOptions}), its usage lines and the settings file's known keys come from
 * here; README's flag table and {@code conf/loraquant.properties.example} document each one, and
 * {@code JobSettingDeclarationTest} checks that they do, with the defaults declared here.
 */
public enum JobSetting {
  INPUT(Kind.REQUIRED, "input", "URI", 0, 0, 0, "root of the PEFT adapters (Hadoop URI)"),
  OUTPUT(Kind.REQUIRED, "output", "URI", 0, 0, 0,
      "root of the compressed adapters, mirroring the input's relative paths"),
  STATS(Kind.REQUIRED, "stats", "URI", 0, 0, 0,
      "root of the Parquet stats tables (layers/, adapters/)"),
  SETTINGS(Kind.OPTIONAL, "settings", "FILE", 0, 0, 0,
      "properties file with the settings' keys; flags win over it, it wins over the defaults"),
  FORCE(Kind.SWITCH, "force", null, 0, 0, 0,
      "recompress adapters whose output is already up to date (in the file: true or false)"),
  MAX_FAILED(Kind.NUMBER, "max-failed", "N", 0, 0, Integer.MAX_VALUE,
      "more failed adapters than this make the run exit with 1"),
  /** Room for a whole adapter with every linear module of a 32-layer model (7 x 32 = 224). */
  MAX_LAYERS_PER_TASK(Kind.NUMBER, "max-layers-per-task", "N", 256, 1, Integer.MAX_VALUE,
      "at most this many layers in one Spark task (bounds executor memory)"),
  TARGET_TASK_BYTES(Kind.NUMBER, "target-task-bytes", "N", 256L << 20, 1, Long.MAX_VALUE,
      "input bytes per task above which the planner opens another task"),
  MAX_READ_BYTES(Kind.NUMBER, "max-read-bytes", "N", 64L << 20, 1, Long.MAX_VALUE,
      "the largest single read of an adapter's tensors, one request each"),
  READ_AHEAD_BYTES(Kind.NUMBER, "read-ahead-bytes", "N", 64L << 20, 0, Long.MAX_VALUE,
      "the most bytes a layer task reads ahead, while a layer compresses; 0: read when needed;"
          + " unset: 0 on a local file system"),
  /**
   * On object storage an adapter costs requests, not bytes: read whole it is its config and its
   * file's reads (pieces of max-read-bytes), not a header read and then its tensors' reads. The
   * default is an adapter of one task's size, which the planner would keep in one task anyway; on
   * the local file system, where a read has no round trip, only tiny adapters are read whole, so
   * bigger ones can still be cut into pieces for balance.
   */
  WHOLE_FILE_BYTES(Kind.NUMBER, "whole-file-bytes", "N", 256L << 20, 0, Long.MAX_VALUE,
      "an adapter whose weights file is at most this many bytes is read whole by one task (its"
          + " config, then its file in reads of max-read-bytes), never cut; 0: never; unset:"
          + " target-task-bytes, 1 MiB on a local file system"),
  /**
   * On object storage a request waits a round trip (30 ms or so) whatever its size, so a task
   * that has several requests to make (several adapters to open or write, several small files to
   * read) makes them together: 8 cut that wait eightfold and, with 4 tasks an executor, stay far
   * inside S3A's connection pool ({@code fs.s3a.connection.maximum}: 200 in the S3 example, 500
   * by default); the bytes held stay bounded by read-ahead-bytes, and the CPU's work by the tasks.
   */
  STORAGE_THREADS(Kind.NUMBER, "storage-threads", "N", 8, 1, 64,
      "the most storage requests a task has under way at once (opening, writing and reading"
          + " ahead several adapters or files together); 1: one after another"),
  LOCK_LEASE_SECONDS(Kind.NUMBER, "lock-lease-seconds", "N", 600, 1, Integer.MAX_VALUE,
      "how long the run lock's lease lasts unless renewed (renewed every third of that)"),
  /** Taken off the command line before the others ({@code report.NightlyReport.Request}). */
  REPORT(Kind.OPTIONAL, "report", "URI", 0, 0, 0,
      "after the run, write the nightly report (docs/REPORT.md) there");

  /** How a setting is given. */
  public enum Kind {
    /** A flag with a value that every run needs; never in the settings file. */
    REQUIRED,
    /** A flag with a value that a run may leave out; never in the settings file. */
    OPTIONAL,
    /** A flag without a value; {@code key = true|false} in the settings file. */
    SWITCH,
    /** A whole number from {@link #least()} to {@link #most()}; flag or settings file. */
    NUMBER
  }

  private final Kind kind;
  private final String key;
  private final String value;
  private final long defaultValue;
  private final long least;
  private final long most;
  private final String help;

  JobSetting(Kind kind, String key, String value, long defaultValue, long least, long most,
      String help) {
    this.kind = kind;
    this.key = key;
    this.value = value;
    this.defaultValue = defaultValue;
    this.least = least;
    this.most = most;
    this.help = help;
  }

  public Kind kind() {
    return kind;
  }

  /** The settings-file key (for a switch or a number), e.g. {@code max-failed}. */
  public String key() {
    return key;
  }

  /** The command-line flag, e.g. {@code --max-failed}. */
  public String flag() {
    return "--" + key;
  }

  /** What the flag takes, as usage lines write it ({@code URI}, {@code N}); null for a switch. */
  public String value() {
    return value;
  }

  /** True if the settings file may hold it. */
  public boolean inSettingsFile() {
    return kind == Kind.SWITCH || kind == Kind.NUMBER;
  }

  /** A number's value when neither the flags nor the settings file give it. */
  public long defaultValue() {
    return defaultValue;
  }

  public long least() {
    return least;
  }

  public long most() {
    return most;
  }

  public String help() {
    return help;
  }

  /** The flag as a usage line gives it: {@code --max-failed N}, {@code --force}. */
  public String usage() {
    return value == null ? flag() : flag() + " " + value;
  }

  /**
   * A number's value: the command line's, else the settings file's, else the default.
   *
   * @throws UsageException on a value that is no whole number or out of range, naming the flag
   */
  public long number(Flags flags, Flags file) {
    return flags.has(flag()) ? number(flags) : number(file);
  }

  /** A number's value in {@code flags}, else the default; checked as {@link #number(Flags, Flags)}. */
  public long number(Flags flags) {
    if (kind != Kind.NUMBER) {
      throw new IllegalStateException(this + " is not a number");
    }
    return flags.number(flag(), defaultValue, least, most);
  }

  /** The settings of {@code kind}, in declaration order. */
  public static List<JobSetting> of(Kind kind) {
    List<JobSetting> settings = new ArrayList<>();
    for (JobSetting s : values()) {
      if (s.kind == kind) {
        settings.add(s);
      }
    }
    return settings;
  }
}
