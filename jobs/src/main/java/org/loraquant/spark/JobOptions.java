package org.loraquant.spark;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.CompressionSettings;
import org.loraquant.io.IoErrors;
import org.loraquant.options.BudgetFlags;
import org.loraquant.options.CodecFlags;
import org.loraquant.options.Flags;
import org.loraquant.options.JobSetting;
import org.loraquant.options.UsageException;

/**
 * Everything a run of the nightly job needs, parsed and validated once at start-up.
 *
 * <p>Precedence, highest first: command-line flags, the {@code --settings FILE} properties, the
 * built-in defaults. The file's keys are the flag names without the dashes, as the declarations
 * give them: the codec settings' ({@link CodecSetting}) and the job's numbers and {@code force =
 * true|false} ({@link JobSetting}, which also declares the defaults); its values are
 * parsed by the same code as the flags, so both accept exactly the same. A {@code budget}, from
 * either, selects the budget mode ({@link BudgetFlags}); the paper mode's own settings then clash
 * with it, wherever each was given.
 *
 * @param input root of the PEFT adapters (Hadoop URI)
 * @param output root of the compressed adapters, mirroring the input's relative paths
 * @param stats root of the Parquet stats tables ({@code layers/}, {@code adapters/})
 * @param force recompress adapters whose output is already up to date
 * @param maxFailed more failed adapters than this make the run exit with 1
 * @param runId UTC start time plus a random suffix, so ids sort by start time
 * @param runDate UTC date of the start: the stats partition
 * @param maxLayersPerTask at most this many layers in one Spark task (bounds executor memory)
 * @param targetTaskBytes input bytes per task above which the planner opens another task
 * @param maxReadBytes the largest single read of an adapter's tensors: a task reads its layers of
 *     an adapter in merged byte ranges up to this size, one request each, and holds one at a time
 * @param readAheadBytes the most bytes a task reads ahead, on a background thread, of the range its
 *     current layer is in, so the next request is on its way while a layer compresses; a task holds
 *     at most {@code maxReadBytes} (or one layer) plus this; 0 reads only when a layer needs it;
 *     {@link #READ_AHEAD_BY_FILE_SYSTEM} when neither the flag nor the key was given ({@link
 *     #readAheadBytesOn})
 * @param wholeFileBytes an adapter whose weights file (as listed) is at most this long is not
 *     opened before planning, nor cut: its layer task reads its config and the whole file (one
 *     request, or pieces of {@code maxReadBytes}) and finds its layers there (not in scope
 *     {@code fleet} of the budget mode, which needs every header before it starts); 0 opens
 *     every adapter first; {@link #WHOLE_FILE_BY_FILE_SYSTEM} when neither the flag nor the key
 *     was given ({@link #wholeFileBytesOn}); a file longer than {@code maxReadBytes} is read in pieces of that size
 * @param storageThreads the most storage requests a task has under way at once: its adapters
 *     opened together, its outputs written together, its small files read ahead together (within
 *     {@code readAheadBytes}); 1 makes them one after another
 * @param lockLeaseSeconds how long the run lock's lease lasts unless renewed (the run renews it
 *     every third of that); a run killed outright blocks others until then (README, "What a rerun
 *     does")
 * @param settings the paper mode's settings (the defaults when {@code budget} is set)
 * @param budget the budget mode's settings, or null for the paper mode
 */
public record JobOptions(
    String input,
    String output,
    String stats,
    CodecSettings settings,
    boolean force,
    int maxFailed,
    String runId,
    LocalDate runDate,
    Instant startedAt,
    int maxLayersPerTask,
    long targetTaskBytes,
    long maxReadBytes,
    int lockLeaseSeconds,
    BudgetSettings budget,
    long readAheadBytes,
    long wholeFileBytes,
    int storageThreads) {

  /**
   * The read-ahead of a run whose input is on the file system of {@code scheme}: what the run set,
   * else the default on object stores and other remote file systems, where each read waits for a
   * round trip that reading ahead hides, and 0 on the local file system ({@code file}), where a
   * read has no round trip and the background reader only takes CPU from the compressing tasks
   * (measured 5-13% slower there: docs/BENCHMARKS.md, "On a quiet machine (issue 17)").
   */
  public long readAheadBytesOn(String scheme) {
    if (readAheadBytes != READ_AHEAD_BY_FILE_SYSTEM) {
      return readAheadBytes;
    }
    return "file".equals(scheme) ? 0 : DEFAULT_READ_AHEAD_BYTES;
  }

  /**
   * The largest weights file that a run whose input is on the file system of {@code scheme} reads
   * whole in its task: what the run set, else {@code targetTaskBytes} on object stores and other
   * remote file systems, where an adapter costs requests (read whole: its config and its file in
   * reads of up to {@code maxReadBytes}, no header read beforehand) and where the planner
   * keeps an adapter of one task's size in one task anyway; {@link #LOCAL_WHOLE_FILE_BYTES} on the
   * local file system ({@code file}), where a read costs no round trip and an adapter is better
   * cut into pieces for balance.
   */
  public long wholeFileBytesOn(String scheme) {
    if (wholeFileBytes != WHOLE_FILE_BY_FILE_SYSTEM) {
      return wholeFileBytes;
    }
    return "file".equals(scheme) ? LOCAL_WHOLE_FILE_BYTES : targetTaskBytes;
  }

  /** The codec settings of the run: the budget mode's when set, else the paper mode's. */
  public CompressionSettings codec() {
    return budget != null ? budget : settings;
  }

  public static final int DEFAULT_MAX_FAILED = (int) JobSetting.MAX_FAILED.defaultValue();
  public static final int DEFAULT_MAX_LAYERS_PER_TASK =
      (int) JobSetting.MAX_LAYERS_PER_TASK.defaultValue();
  public static final long DEFAULT_TARGET_TASK_BYTES = JobSetting.TARGET_TASK_BYTES.defaultValue();
  public static final long DEFAULT_MAX_READ_BYTES = JobSetting.MAX_READ_BYTES.defaultValue();
  public static final long DEFAULT_READ_AHEAD_BYTES = JobSetting.READ_AHEAD_BYTES.defaultValue();
  /** {@link #readAheadBytes} when the run did not set it: the input's file system decides. */
  public static final long READ_AHEAD_BY_FILE_SYSTEM = -1;
  /** {@link #wholeFileBytes} when the run did not set it: the input's file system decides. */
  public static final long WHOLE_FILE_BY_FILE_SYSTEM = -1;
  /** What {@link #wholeFileBytesOn} gives on the local file system when the run did not say. */
  public static final long LOCAL_WHOLE_FILE_BYTES = 1L << 20;
  public static final int DEFAULT_LOCK_LEASE_SECONDS =
      (int) JobSetting.LOCK_LEASE_SECONDS.defaultValue();

  /** The job's command line, from the declarations ({@link JobSetting}, {@link CodecSetting}). */
  static final String USAGE = usage();

  /** The run's numbers: a flag, or a key of the settings file. */
  private static final List<JobSetting> NUMBERS = JobSetting.of(JobSetting.Kind.NUMBER);
  /** The codec flags of both modes (settings-file keys without the dashes). */
  private static final Set<String> CODEC_OPTIONS = codecOptions();

  private static final DateTimeFormatter RUN_ID_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  /** Parses a command line; {@code now} is the run's start. */
  public static JobOptions parse(List<String> args, Instant now) {
    Set<String> options = new TreeSet<>(CODEC_OPTIONS);
    for (JobSetting s : JobSetting.values()) {
      // --report is taken off the command line before (report.NightlyReport.Request).
      if (s.value() != null && s != JobSetting.REPORT) {
        options.add(s.flag());
      }
    }
    Flags flags = Flags.parse(args, options, Set.of(JobSetting.FORCE.flag()));
    if (!flags.positionals().isEmpty()) {
      throw new UsageException("unexpected argument '" + flags.positionals().get(0) + "'");
    }

    Flags file = Flags.parse(List.of(), Set.of(), Set.of());
    boolean fileForce = false;
    CodecSettings settings = CodecSettings.defaults();
    if (flags.has(JobSetting.SETTINGS.flag())) {
      String path = flags.requiredString(JobSetting.SETTINGS.flag());
      Properties properties = load(path);
      Set<String> fileOptions = new TreeSet<>(CODEC_OPTIONS);
      NUMBERS.forEach(s -> fileOptions.add(s.flag()));
      List<String> asFlags = new ArrayList<>();
      for (String key : new TreeSet<>(properties.stringPropertyNames())) {
        String value = properties.getProperty(key).trim();
        if (key.equals(JobSetting.FORCE.key())) {
          fileForce = parseBoolean(path, value);
        } else if (fileOptions.contains("--" + key)) {
          asFlags.add("--" + key + "=" + value);
        } else {
          throw new UsageException(
              "settings file "
                  + path
                  + ": unknown key '"
                  + key
                  + "'; known keys: "
                  + JobSetting.FORCE.key()
                  + ", "
                  + String.join(", ", fileOptions).replace("--", ""));
        }
      }
      try {
        file = Flags.parse(asFlags, fileOptions, Set.of());
        if (BudgetFlags.selected(file)) {
          BudgetFlags.settings(file);
        } else {
          CodecFlags.apply(file, settings);
        }
        for (JobSetting s : NUMBERS) {
          s.number(file);
        }
      } catch (UsageException e) {
        throw new UsageException("settings file " + path + ": " + e.getMessage().replace("--", ""));
      }
    }
    // The codec settings of both sources at once, a flag replacing the file's key, so the mode
    // and the clashes between the modes' settings are decided on what the run will use.
    Flags codecFlags = Flags.parse(codecArgs(flags, file), CODEC_OPTIONS, Set.of());
    BudgetSettings budget = null;
    if (BudgetFlags.selected(codecFlags)) {
      budget = BudgetFlags.settings(codecFlags);
    } else {
      BudgetFlags.requireAbsent(codecFlags);
      settings = CodecFlags.apply(codecFlags, settings);
    }

    String runId = RUN_ID_TIME.format(now) + "-" + HexFormat.of().formatHex(randomBytes(4));
    return new JobOptions(
        flags.requiredString(JobSetting.INPUT.flag()),
        flags.requiredString(JobSetting.OUTPUT.flag()),
        flags.requiredString(JobSetting.STATS.flag()),
        settings,
        flags.has(JobSetting.FORCE.flag()) || fileForce,
        (int) JobSetting.MAX_FAILED.number(flags, file),
        runId,
        LocalDate.ofInstant(now, ZoneOffset.UTC),
        now,
        (int) JobSetting.MAX_LAYERS_PER_TASK.number(flags, file),
        JobSetting.TARGET_TASK_BYTES.number(flags, file),
        JobSetting.MAX_READ_BYTES.number(flags, file),
        (int) JobSetting.LOCK_LEASE_SECONDS.number(flags, file),
        budget,
        given(JobSetting.READ_AHEAD_BYTES, flags, file)
            ? JobSetting.READ_AHEAD_BYTES.number(flags, file)
            : READ_AHEAD_BY_FILE_SYSTEM,
        wholeFileBytes(flags, file),
        (int) JobSetting.STORAGE_THREADS.number(flags, file));
  }

  /** Whether the command line or the settings file gives {@code setting}. */
  private static boolean given(JobSetting setting, Flags flags, Flags file) {
    return flags.has(setting.flag()) || file.has(setting.flag());
  }

  /** The whole-file threshold as given, or {@link #WHOLE_FILE_BY_FILE_SYSTEM}. */
  private static long wholeFileBytes(Flags flags, Flags file) {
    return given(JobSetting.WHOLE_FILE_BYTES, flags, file)
        ? JobSetting.WHOLE_FILE_BYTES.number(flags, file)
        : WHOLE_FILE_BY_FILE_SYSTEM;
  }

  /**
   * {@code --input URI --output URI --stats URI [--settings FILE] [codec flags] [--force] ...
   * [--report URI]}: the required flags, the settings file, the codec's flags, then the rest.
   */
  private static String usage() {
    StringBuilder out = new StringBuilder();
    for (JobSetting s : JobSetting.of(JobSetting.Kind.REQUIRED)) {
      out.append(out.isEmpty() ? "" : " ").append(s.usage());
    }
    out.append(" [").append(JobSetting.SETTINGS.usage()).append("] ");
    out.append(CodecFlags.usage(true));
    for (JobSetting s : JobSetting.values()) {
      if (s.kind() != JobSetting.Kind.REQUIRED && s != JobSetting.SETTINGS) {
        out.append(" [").append(s.usage()).append(']');
      }
    }
    return out.toString();
  }

  /** The codec flags of the command line, then those of the file that the command line lacks. */
  private static List<String> codecArgs(Flags flags, Flags file) {
    List<String> args = new ArrayList<>();
    for (String name : CODEC_OPTIONS) {
      if (flags.has(name)) {
        args.add(name + "=" + flags.requiredString(name));
      } else if (file.has(name)) {
        args.add(name + "=" + file.requiredString(name));
      }
    }
    return args;
  }

  private static Set<String> codecOptions() {
    Set<String> options = new TreeSet<>(CodecFlags.OPTIONS);
    options.addAll(BudgetFlags.OPTIONS);
    return Set.copyOf(options);
  }

  private static boolean parseBoolean(String path, String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default ->
          throw new UsageException(
              "settings file " + path + ": " + JobSetting.FORCE.key() + " must be true or false, got '"
                  + value + "'");
    };
  }

  private static Properties load(String path) {
    Properties properties = new Properties();
    try (Reader in = Files.newBufferedReader(Path.of(path), StandardCharsets.UTF_8)) {
      properties.load(in);
    } catch (NoSuchFileException e) {
      throw new UsageException("settings file " + path + " does not exist");
    } catch (IOException | IllegalArgumentException e) {
      throw new UsageException(
          "cannot read settings file "
              + path
              + ": "
              + (e instanceof IOException io ? IoErrors.reason(io) : e.getMessage()));
    }
    return properties;
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    new SecureRandom().nextBytes(bytes);
    return bytes;
  }
}
