package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.FleetWeight;
import org.loraquant.codec.LevelFamily;
import org.loraquant.codec.Refinement;
import org.loraquant.codec.SplitRule;
import org.loraquant.options.UsageException;

class JobOptionsTest {
  private static final Instant NOW = Instant.parse("2026-11-22T23:59:58Z");
  @TempDir Path temp;

  private static List<String> required(String... more) {
    List<String> args =
        new ArrayList<>(
            List.of("--input", "s3a://in/", "--output", "s3a://out/", "--stats", "s3a://st/"));
    args.addAll(List.of(more));
    return args;
  }

  @Test
  void defaultsWithoutSettingsFile() {
    JobOptions o = JobOptions.parse(required(), NOW);
    assertThat(o.input()).isEqualTo("s3a://in/");
    assertThat(o.settings()).isEqualTo(CodecSettings.defaults());
    assertThat(o.force()).isFalse();
    assertThat(o.maxFailed()).isZero();
    assertThat(o.runDate()).isEqualTo(LocalDate.of(2026, 11, 22));
    assertThat(o.runId()).matches("20261122T235958Z-[0-9a-f]{8}");
    assertThat(o.maxLayersPerTask()).isEqualTo(JobOptions.DEFAULT_MAX_LAYERS_PER_TASK);
    assertThat(o.targetTaskBytes()).isEqualTo(JobOptions.DEFAULT_TARGET_TASK_BYTES);
    assertThat(o.maxReadBytes()).isEqualTo(64L << 20);
    assertThat(o.readAheadBytes()).isEqualTo(JobOptions.READ_AHEAD_BY_FILE_SYSTEM);
  }

  @Test
  void anUnsetReadAheadIsOffOnTheLocalFileSystemOnly() throws Exception {
    JobOptions unset = JobOptions.parse(required(), NOW);
    assertThat(unset.readAheadBytesOn("file")).isZero();
    assertThat(unset.readAheadBytesOn("s3a")).isEqualTo(64L << 20);
    assertThat(unset.readAheadBytesOn("hdfs")).isEqualTo(64L << 20);
    JobOptions flag = JobOptions.parse(required("--read-ahead-bytes", "9"), NOW);
    assertThat(flag.readAheadBytesOn("file")).isEqualTo(9);
    assertThat(flag.readAheadBytesOn("s3a")).isEqualTo(9);
    Path file = temp.resolve("ahead-default.properties");
    Files.writeString(file, "read-ahead-bytes = 67108864\n");
    assertThat(
            JobOptions.parse(required("--settings", file.toString()), NOW).readAheadBytesOn("file"))
        .isEqualTo(64L << 20);
  }

  @Test
  void anUnsetWholeFileThresholdIsOneTaskOnObjectStoresAndOneMebibyteOnTheLocalFileSystem() {
    JobOptions unset = JobOptions.parse(required(), NOW);
    assertThat(unset.wholeFileBytes()).isEqualTo(JobOptions.WHOLE_FILE_BY_FILE_SYSTEM);
    assertThat(unset.wholeFileBytesOn("s3a")).isEqualTo(256L << 20);
    assertThat(unset.wholeFileBytesOn("hdfs")).isEqualTo(256L << 20);
    assertThat(unset.wholeFileBytesOn("file")).isEqualTo(1L << 20);
    JobOptions smallTasks = JobOptions.parse(required("--target-task-bytes", "5000000"), NOW);
    assertThat(smallTasks.wholeFileBytesOn("s3a")).isEqualTo(5_000_000);
    assertThat(smallTasks.wholeFileBytesOn("file")).isEqualTo(1L << 20);
    JobOptions given = JobOptions.parse(required("--whole-file-bytes", "5000"), NOW);
    assertThat(given.wholeFileBytesOn("s3a")).isEqualTo(5000);
    assertThat(given.wholeFileBytesOn("file")).isEqualTo(5000);
    assertThat(
            JobOptions.parse(required("--whole-file-bytes", "0"), NOW).wholeFileBytesOn("s3a"))
        .isZero();
  }

  @Test
  void theReadAheadComesFromTheFileOrAFlagAndMayBeZeroButNotNegative() throws Exception {
    Path file = temp.resolve("ahead.properties");
    Files.writeString(file, "read-ahead-bytes = 0\n");
    assertThat(JobOptions.parse(required("--settings", file.toString()), NOW).readAheadBytes())
        .isZero();
    assertThat(
            JobOptions.parse(required("--settings", file.toString(), "--read-ahead-bytes", "9"), NOW)
                .readAheadBytes())
        .isEqualTo(9);
    assertThatThrownBy(() -> JobOptions.parse(required("--read-ahead-bytes", "-1"), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("--read-ahead-bytes");
  }

  @Test
  void storageThreadsDefaultToEightComeFromTheFileOrAFlagAndAreAtLeastOne() throws Exception {
    assertThat(JobOptions.parse(required(), NOW).storageThreads()).isEqualTo(8);
    Path file = temp.resolve("threads.properties");
    Files.writeString(file, "storage-threads = 1\n");
    assertThat(JobOptions.parse(required("--settings", file.toString()), NOW).storageThreads())
        .isEqualTo(1);
    assertThat(
            JobOptions.parse(required("--settings", file.toString(), "--storage-threads", "3"), NOW)
                .storageThreads())
        .isEqualTo(3);
    assertThatThrownBy(() -> JobOptions.parse(required("--storage-threads", "0"), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("--storage-threads");
  }

  @Test
  void runIdsSortByStartTimeAndDifferWithinASecond() {
    JobOptions earlier = JobOptions.parse(required(), NOW);
    JobOptions later = JobOptions.parse(required(), NOW.plusSeconds(1));
    JobOptions same = JobOptions.parse(required(), NOW);
    assertThat(earlier.runId()).isLessThan(later.runId());
    assertThat(same.runId()).isNotEqualTo(earlier.runId());
  }

  @Test
  void flagsOverrideTheSettingsFileWhichOverridesDefaults() throws Exception {
    Path file = temp.resolve("s.properties");
    Files.writeString(
        file,
        "rho = 0.9\nbits-high = 3\nsplit = reference\nrefine = search\nmax-failed = 10\n"
            + "force = true\nmax-layers-per-task = 4\ntarget-task-bytes = 1000\n"
            + "max-read-bytes = 5000\n"
            + "lock-lease-seconds = 30\n");
    JobOptions o =
        JobOptions.parse(
            required("--settings", file.toString(), "--rho", "0.7", "--max-failed", "2"), NOW);
    assertThat(o.maxReadBytes()).isEqualTo(5000);
    assertThat(
            JobOptions.parse(required("--settings", file.toString(), "--max-read-bytes", "7"), NOW)
                .maxReadBytes())
        .isEqualTo(7);
    assertThat(o.settings().rho()).isEqualTo(0.7);
    assertThat(o.settings().bitsHigh()).isEqualTo(3);
    assertThat(o.settings().groupSize()).isEqualTo(CodecSettings.DEFAULT_GROUP_SIZE);
    assertThat(o.settings().splitRule()).isEqualTo(SplitRule.REFERENCE);
    assertThat(o.settings().refinement()).isEqualTo(Refinement.SEARCH);
    assertThat(o.maxFailed()).isEqualTo(2);
    assertThat(o.force()).isTrue();
    assertThat(o.maxLayersPerTask()).isEqualTo(4);
    assertThat(o.targetTaskBytes()).isEqualTo(1000);
    assertThat(o.lockLeaseSeconds()).isEqualTo(30);
    assertThat(JobOptions.parse(required("--lock-lease-seconds", "5"), NOW).lockLeaseSeconds())
        .isEqualTo(5);
    assertThat(JobOptions.parse(required(), NOW).lockLeaseSeconds())
        .isEqualTo(JobOptions.DEFAULT_LOCK_LEASE_SECONDS);
  }

  @Test
  void theShippedExampleParses() {
    Path example =
        Path.of(
            System.getProperty("loraquant.project.root", ".."),
            "conf/loraquant.properties.example");
    JobOptions o = JobOptions.parse(required("--settings", example.toString()), NOW);
    assertThat(o.settings().refinement()).isEqualTo(Refinement.NONE);
    assertThat(o.maxFailed()).isEqualTo(10);
  }

  @Test
  void badFileValuesNameTheFileAndTheKey() throws Exception {
    Path file = temp.resolve("bad.properties");
    Files.writeString(file, "refine = true\n");
    assertThatThrownBy(() -> JobOptions.parse(required("--settings", file.toString()), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("refine must be none or search, got 'true'");
    Files.writeString(file, "bits_high = 3\n");
    assertThatThrownBy(() -> JobOptions.parse(required("--settings", file.toString()), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("unknown key 'bits_high'");
    Files.writeString(file, "force = yes\n");
    assertThatThrownBy(() -> JobOptions.parse(required("--settings", file.toString()), NOW))
        .hasMessageContaining("force must be true or false, got 'yes'");
  }

  @Test
  void usageErrors() {
    assertThatThrownBy(() -> JobOptions.parse(List.of("--input", "a", "--output", "b"), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessage("--stats is required");
    assertThatThrownBy(() -> JobOptions.parse(required("--max-failed", "-1"), NOW))
        .hasMessageContaining("--max-failed must be at least 0");
    assertThatThrownBy(() -> JobOptions.parse(required("--rho", "1.5"), NOW))
        .hasMessageContaining("Invalid rho: 1.5");
    assertThatThrownBy(() -> JobOptions.parse(required("extra"), NOW))
        .hasMessageContaining("unexpected argument 'extra'");
    assertThatThrownBy(() -> JobOptions.parse(required("--settings", "/no/such/file"), NOW))
        .hasMessageContaining("settings file /no/such/file does not exist");
  }

  @Test
  void budgetFlagsSelectTheBudgetModeWithItsDefaults() {
    JobOptions o = JobOptions.parse(required("--budget", "1.4"), NOW);
    assertThat(o.budget()).isEqualTo(BudgetSettings.of(1.4));
    assertThat(o.codec()).isSameAs(o.budget());
    JobOptions full =
        JobOptions.parse(
            required(
                "--budget", "2", "--budget-scope", "layer", "--levels", "uniform", "--refit",
                "0", "--group-size", "64"),
            NOW);
    assertThat(full.budget())
        .isEqualTo(
            BudgetSettings.of(2)
                .withScope(BudgetScope.LAYER)
                .withLevels(LevelFamily.UNIFORM)
                .withRefit(0)
                .withGroupSize(64));
    assertThat(JobOptions.parse(required(), NOW).budget()).isNull();
  }

  @Test
  void theSettingsFileTakesTheBudgetAndFlagsStillWin() throws Exception {
    Path file = temp.resolve("budget.properties");
    Files.writeString(file, "budget = 1.4\nbudget-scope = layer\nlevels = uniform\nrefit = 1\n");
    JobOptions fromFile = JobOptions.parse(required("--settings", file.toString()), NOW);
    assertThat(fromFile.budget())
        .isEqualTo(
            BudgetSettings.of(1.4)
                .withScope(BudgetScope.LAYER)
                .withLevels(LevelFamily.UNIFORM)
                .withRefit(1));
    JobOptions overridden =
        JobOptions.parse(
            required("--settings", file.toString(), "--budget", "2", "--budget-scope", "adapter"),
            NOW);
    assertThat(overridden.budget().budgetBits()).isEqualTo(2);
    assertThat(overridden.budget().scope()).isEqualTo(BudgetScope.ADAPTER);
    assertThat(overridden.budget().levels()).isEqualTo(LevelFamily.UNIFORM);
  }

  /** Issue 20: the fleet scope and its weight, from a flag or the settings file. */
  @Test
  void theFleetScopeTakesItsWeightFromFlagsOrTheSettingsFile() throws Exception {
    assertThat(JobOptions.parse(required("--budget", "1.4", "--budget-scope", "fleet"), NOW).budget())
        .isEqualTo(BudgetSettings.of(1.4).withScope(BudgetScope.FLEET));
    Path file = temp.resolve("fleet.properties");
    Files.writeString(file, "budget = 1.4\nbudget-scope = fleet\nbudget-weight = adapter\n");
    assertThat(JobOptions.parse(required("--settings", file.toString()), NOW).budget())
        .isEqualTo(
            BudgetSettings.of(1.4).withScope(BudgetScope.FLEET).withWeight(FleetWeight.ADAPTER));
    assertThatThrownBy(
            () -> JobOptions.parse(required("--budget", "1.4", "--budget-weight", "adapter"), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessage("--budget-weight weighs adapters against each other, so it applies to"
            + " --budget-scope fleet only");
    assertThatThrownBy(
            () ->
                JobOptions.parse(
                    required("--budget", "1", "--budget-scope", "fleet", "--budget-weight", "x"),
                    NOW))
        .isInstanceOf(UsageException.class)
        .hasMessage("--budget-weight must be energy or adapter, got 'x'");
    assertThatThrownBy(() -> JobOptions.parse(required("--budget-weight", "energy"), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessage(
            "--budget-weight applies to the budget mode only; add --budget B (e.g. --budget 1.4)");
  }

  @Test
  void budgetAndPaperSettingsClashWhereverEachWasGiven() throws Exception {
    assertThatThrownBy(() -> JobOptions.parse(required("--budget", "1.4", "--rho", "0.9"), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessageStartingWith("--budget cannot be combined with --rho");
    Path file = temp.resolve("paper.properties");
    Files.writeString(file, "bits-high = 3\n");
    assertThatThrownBy(
            () -> JobOptions.parse(required("--settings", file.toString(), "--budget", "2"), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessageStartingWith("--budget cannot be combined with --bits-high");
    assertThatThrownBy(() -> JobOptions.parse(required("--levels", "uniform"), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessage("--levels applies to the budget mode only; add --budget B (e.g. --budget 1.4)");
    Files.writeString(file, "budget = 17\n");
    assertThatThrownBy(() -> JobOptions.parse(required("--settings", file.toString()), NOW))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("settings file " + file)
        .hasMessageContaining("budget expects effective bits per parameter in (0, 16]");
    assertThatThrownBy(() -> JobOptions.parse(required("--budget", "1", "--refit", "-1"), NOW))
        .hasMessageContaining("--refit must be at least 0");
  }

  /**
   * Outputs written before the budget mode existed stay current: the paper mode's fingerprints are
   * those earlier versions wrote, character for character.
   */
  @Test
  void paperModeFingerprintsAreUnchanged() throws Exception {
    assertThat(JobOptions.parse(required(), NOW).codec().fingerprint())
        .isEqualTo("loraquant-codec/1;rho=0.8;split=PREFIX;bits_high=2;group=128;refine=NONE");
    Path file = temp.resolve("paper.properties");
    Files.writeString(file, "rho = 0.90\nbits-high = 3\nsplit = reference\nrefine = search\n");
    assertThat(
            JobOptions.parse(required("--settings", file.toString(), "--group-size", "64"), NOW)
                .codec()
                .fingerprint())
        .isEqualTo("loraquant-codec/1;rho=0.9;split=REFERENCE;bits_high=3;group=64;refine=SEARCH");
    assertThat(JobOptions.parse(required("--budget", "1.40"), NOW).codec().fingerprint())
        .isEqualTo("loraquant-budget/1;budget=1.4;scope=adapter;levels=lloyd-max;refit=2;group=128");
    // Issue 20: the fleet scope names its weight; an output's fingerprint changes with it.
    BudgetSettings fleet = BudgetSettings.of(1.4).withScope(BudgetScope.FLEET);
    assertThat(fleet.fingerprint())
        .isEqualTo(
            "loraquant-budget/1;budget=1.4;scope=fleet;levels=lloyd-max;refit=2;group=128;weight=energy");
    assertThat(fleet.withWeight(FleetWeight.ADAPTER).fingerprint()).endsWith(";weight=adapter");
    assertThatThrownBy(() -> BudgetSettings.of(1.4).withWeight(FleetWeight.ADAPTER))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("applies to scope fleet only");
  }
}
