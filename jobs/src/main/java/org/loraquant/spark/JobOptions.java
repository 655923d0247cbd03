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
import org.loraquant.options.UsageException;

/**
 * Everything a run of the nightly job needs, parsed and validated once at start-up.
 *
 * <p>Precedence, highest first: command-line flags, the {@code --settings FILE} properties, the
 * built-in defaults. The file's keys are the flag names without the dashes: the codec settings'
 * keys as {@link CodecSetting} declares them ({@code rho}, {@code bits-high}, {@code group-size},
 * {@code split}, {@code refine}; {@code budget}, {@code budget-scope}, {@code levels}, {@code
 * refit}), {@code max-failed}, {@code max-layers-per-task}, {@code target-task-bytes}, {@code
 * max-read-bytes}, {@code read-ahead-bytes}, {@code lock-lease-seconds}, and {@code force = true|false}; its values are
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
 *     at most {@code maxReadBytes} (or one layer) plus this; 0 reads only when a layer needs it
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
    long readAheadBytes) {

  /** The codec settings of the run: the budget mode's when set, else the paper mode's. */
  public CompressionSettings codec() {
    return budget != null ? budget : settings;
  }

  public static final int DEFAULT_MAX_FAILED = 0;
  /** Room for a whole adapter with every linear module of a 32-layer model (7 x 32 = 224). */
  public static final int DEFAULT_MAX_LAYERS_PER_TASK = 256;

  public static final long DEFAULT_TARGET_TASK_BYTES = 256L << 20;
  public static final long DEFAULT_MAX_READ_BYTES = 64L << 20;
  public static final long DEFAULT_READ_AHEAD_BYTES = 64L << 20;
  public static final int DEFAULT_LOCK_LEASE_SECONDS = 600;

  static final String USAGE =
      "--input URI --output URI --stats URI [--settings FILE] [--rho R] [--bits-high B]"
          + " [--group-size G] [--split prefix|reference] [--refine none|search]"
          + " [--budget B [--budget-scope layer|adapter|fleet [--budget-weight energy|adapter]]"
          + " [--levels uniform|lloyd-max] [--refit N]]"
          + " [--force]"
          + " [--max-failed N] [--max-layers-per-task N] [--target-task-bytes N]"
          + " [--max-read-bytes N] [--read-ahead-bytes N] [--lock-lease-seconds N]"
          + " [--report URI]";

  private static final Set<String> RUN_OPTIONS =
      Set.of(
          "--max-failed",
          "--max-layers-per-task",
          "--target-task-bytes",
          "--max-read-bytes",
          "--read-ahead-bytes",
          "--lock-lease-seconds");
  /** The codec flags of both modes (settings-file keys without the dashes). */
  private static final Set<String> CODEC_OPTIONS = codecOptions();

  private static final Set<String> LOCATION_OPTIONS =
      Set.of("--input", "--output", "--stats", "--settings");

  private static final DateTimeFormatter RUN_ID_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  /** Parses a command line; {@code now} is the run's start. */
  public static JobOptions parse(List<String> args, Instant now) {
    Set<String> options = new TreeSet<>(CODEC_OPTIONS);
    options.addAll(RUN_OPTIONS);
    options.addAll(LOCATION_OPTIONS);
    Flags flags = Flags.parse(args, options, Set.of("--force"));
    if (!flags.positionals().isEmpty()) {
      throw new UsageException("unexpected argument '" + flags.positionals().get(0) + "'");
    }

    Flags file = Flags.parse(List.of(), Set.of(), Set.of());
    boolean fileForce = false;
    CodecSettings settings = CodecSettings.defaults();
    if (flags.has("--settings")) {
      String path = flags.requiredString("--settings");
      Properties properties = load(path);
      Set<String> fileOptions = new TreeSet<>(CODEC_OPTIONS);
      fileOptions.addAll(RUN_OPTIONS);
      List<String> asFlags = new ArrayList<>();
      for (String key : new TreeSet<>(properties.stringPropertyNames())) {
        String value = properties.getProperty(key).trim();
        if (key.equals("force")) {
          fileForce = parseBoolean(path, value);
        } else if (fileOptions.contains("--" + key)) {
          asFlags.add("--" + key + "=" + value);
        } else {
          throw new UsageException(
              "settings file "
                  + path
                  + ": unknown key '"
                  + key
                  + "'; known keys: force, "
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
        runInt(file, "--max-failed", 0, 0);
        runInt(file, "--max-layers-per-task", 1, 1);
        runLong(file, "--target-task-bytes", 1);
        runLong(file, "--max-read-bytes", 1);
        runLong(file, "--read-ahead-bytes", 0);
        runInt(file, "--lock-lease-seconds", DEFAULT_LOCK_LEASE_SECONDS, 1);
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
        flags.requiredString("--input"),
        flags.requiredString("--output"),
        flags.requiredString("--stats"),
        settings,
        flags.has("--force") || fileForce,
        pick(flags, file, "--max-failed", DEFAULT_MAX_FAILED, 0),
        runId,
        LocalDate.ofInstant(now, ZoneOffset.UTC),
        now,
        pick(flags, file, "--max-layers-per-task", DEFAULT_MAX_LAYERS_PER_TASK, 1),
        pickLong(flags, file, "--target-task-bytes", DEFAULT_TARGET_TASK_BYTES),
        pickLong(flags, file, "--max-read-bytes", DEFAULT_MAX_READ_BYTES),
        pick(flags, file, "--lock-lease-seconds", DEFAULT_LOCK_LEASE_SECONDS, 1),
        budget,
        pickLong(flags, file, "--read-ahead-bytes", DEFAULT_READ_AHEAD_BYTES, 0));
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

  private static long pickLong(Flags flags, Flags file, String name, long defaultValue) {
    return pickLong(flags, file, name, defaultValue, 1);
  }

  private static long pickLong(Flags flags, Flags file, String name, long defaultValue, long min) {
    if (flags.has(name)) {
      return runLong(flags, name, min);
    }
    return file.has(name) ? runLong(file, name, min) : defaultValue;
  }

  private static int pick(Flags flags, Flags file, String name, int defaultValue, int min) {
    if (flags.has(name)) {
      return runInt(flags, name, defaultValue, min);
    }
    return runInt(file, name, defaultValue, min);
  }

  private static int runInt(Flags flags, String name, int defaultValue, int min) {
    return flags.integer(name, defaultValue, min);
  }

  private static long runLong(Flags flags, String name, long min) {
    long value = flags.longValue(name, min);
    if (value < min) {
      throw new UsageException(name + " must be at least " + min + ", got " + value);
    }
    return value;
  }

  private static boolean parseBoolean(String path, String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default ->
          throw new UsageException(
              "settings file " + path + ": force must be true or false, got '" + value + "'");
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
