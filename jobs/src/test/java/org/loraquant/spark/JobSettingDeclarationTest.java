package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.FleetWeight;
import org.loraquant.codec.LevelFamily;
import org.loraquant.codec.Refinement;
import org.loraquant.codec.SplitRule;
import org.loraquant.options.JobSetting;
import org.loraquant.options.UsageException;

/**
 * Every job setting is declared once ({@link JobSetting}, beside {@link CodecSetting}): the
 * parsing, the defaults, the settings file's known keys and the usage lines come from the
 * declarations, and the documentation (conf/loraquant.properties.example, README's flag table)
 * names every setting with its declared default.
 */
class JobSettingDeclarationTest {
  private static final Instant NOW = Instant.parse("2026-11-22T23:59:58Z");
  private static final Path ROOT = Path.of(System.getProperty("loraquant.project.root", ".."));

  @TempDir Path temp;

  @Test
  void theUsageLineIsBuiltFromTheDeclarationsAndReadsAsBefore() {
    assertThat(JobOptions.USAGE)
        .isEqualTo("--input URI --output URI --stats URI [--settings FILE] [--rho R] [--bits-high B]"
            + " [--group-size G] [--split prefix|reference] [--refine none|search]"
            + " [--budget B [--budget-scope layer|adapter|fleet [--budget-weight energy|adapter]]"
            + " [--levels uniform|lloyd-max] [--refit N]]"
            + " [--force]"
            + " [--max-failed N] [--max-layers-per-task N] [--target-task-bytes N]"
            + " [--max-read-bytes N] [--read-ahead-bytes N]"
            + " [--whole-file-bytes N] [--storage-threads N] [--lock-lease-seconds N]"
            + " [--report URI]");
    for (JobSetting s : JobSetting.values()) {
      assertThat(JobOptions.USAGE).contains(s.usage());
    }
    for (CodecSetting s : CodecSetting.values()) {
      assertThat(JobOptions.USAGE).contains(s.flag() + " " + s.value());
    }
  }

  @Test
  void theDefaultsAreTheDeclaredOnes() {
    JobOptions o = JobOptions.parse(List.of("--input", "i", "--output", "o", "--stats", "s"), NOW);
    assertThat((long) o.maxFailed()).isEqualTo(JobSetting.MAX_FAILED.defaultValue());
    assertThat((long) o.maxLayersPerTask()).isEqualTo(JobSetting.MAX_LAYERS_PER_TASK.defaultValue());
    assertThat(o.targetTaskBytes()).isEqualTo(JobSetting.TARGET_TASK_BYTES.defaultValue());
    assertThat(o.maxReadBytes()).isEqualTo(JobSetting.MAX_READ_BYTES.defaultValue());
    assertThat((long) o.lockLeaseSeconds()).isEqualTo(JobSetting.LOCK_LEASE_SECONDS.defaultValue());
    for (JobSetting s : JobSetting.of(JobSetting.Kind.NUMBER)) {
      List<String> below = List.of("--input", "i", "--output", "o", "--stats", "s", s.flag(),
          Long.toString(s.least() - 1));
      assertThatThrownBy(() -> JobOptions.parse(below, NOW))
          .isInstanceOf(UsageException.class)
          .hasMessage(s.flag() + " must be at least " + s.least() + ", got " + (s.least() - 1));
    }
  }

  @Test
  void theSettingsFileKnowsExactlyTheDeclaredKeys() throws Exception {
    Path file = temp.resolve("s.properties");
    Files.writeString(file, "nonsense = 1\n");
    List<String> keys = new java.util.ArrayList<>();
    for (CodecSetting s : CodecSetting.values()) {
      keys.add(s.key());
    }
    for (JobSetting s : JobSetting.values()) {
      if (s.inSettingsFile() && s != JobSetting.FORCE) {
        keys.add(s.key());
      }
    }
    keys.sort(null);
    assertThatThrownBy(
            () -> JobOptions.parse(
                List.of("--input", "i", "--output", "o", "--stats", "s", "--settings", file.toString()),
                NOW))
        .isInstanceOf(UsageException.class)
        .hasMessageEndingWith("unknown key 'nonsense'; known keys: force, " + String.join(", ", keys));
  }

  /**
   * The shipped example documents each key of the settings file with its default, commented out
   * ({@code # max-failed = 0}), so the file and the declarations cannot drift apart.
   */
  @Test
  void theExampleSettingsFileDocumentsEverySettingWithItsDefault() throws Exception {
    String example = Files.readString(ROOT.resolve("conf/loraquant.properties.example"),
        StandardCharsets.UTF_8);
    Map<String, String> documented = new LinkedHashMap<>();
    Matcher m = Pattern.compile("(?m)^# ([a-z-]+) = (\\S+)$").matcher(example);
    while (m.find()) {
      documented.putIfAbsent(m.group(1), m.group(2));
    }
    Map<String, String> declared = new LinkedHashMap<>();
    for (JobSetting s : JobSetting.values()) {
      if (s.kind() == JobSetting.Kind.NUMBER) {
        declared.put(s.key(), Long.toString(s.defaultValue()));
      } else if (s.kind() == JobSetting.Kind.SWITCH) {
        declared.put(s.key(), "false");
      }
    }
    CodecSettings paper = CodecSettings.defaults();
    BudgetSettings budget = BudgetSettings.of(1.4);
    for (CodecSetting s : CodecSetting.values()) {
      Object value = s == CodecSetting.BUDGET_WEIGHT ? BudgetSettings.DEFAULT_WEIGHT.spelling()
          : s.mode().includes(CodecSetting.Mode.PAPER) ? paper.value(s) : budget.value(s);
      declared.put(s.key(), String.valueOf(value));
    }
    assertThat(documented).isEqualTo(declared);
  }

  @Test
  void readmeNamesEveryFlagOfTheJob() throws Exception {
    String readme = Files.readString(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
    for (JobSetting s : JobSetting.values()) {
      assertThat(readme).contains("`" + s.usage());
    }
    for (CodecSetting s : CodecSetting.values()) {
      assertThat(readme).contains("`" + s.flag() + " " + s.value().replace("|", "\\|") + "`");
    }
  }

  /** A name setting's declared choices are exactly the spellings its values parse from. */
  @Test
  void theDeclaredChoicesAreTheSpellingsOfTheValues() {
    assertThat(CodecSetting.SPLIT.choices()).isEqualTo(spellings(SplitRule.values(),
        e -> e.name().toLowerCase(Locale.ROOT)));
    assertThat(CodecSetting.REFINE.choices()).isEqualTo(spellings(Refinement.values(),
        e -> e.name().toLowerCase(Locale.ROOT)));
    assertThat(CodecSetting.BUDGET_SCOPE.choices()).isEqualTo(spellings(BudgetScope.values(),
        BudgetSettings::scopeName));
    assertThat(CodecSetting.BUDGET_WEIGHT.choices()).isEqualTo(spellings(FleetWeight.values(),
        FleetWeight::spelling));
    assertThat(CodecSetting.LEVELS.choices()).isEqualTo(spellings(LevelFamily.values(),
        BudgetSettings::levelsName));
    for (CodecSetting s : CodecSetting.values()) {
      assertThat(s.choices().isEmpty()).as("%s", s).isEqualTo(s.type() != CodecSetting.ValueType.NAME);
    }
  }

  private static <E> List<String> spellings(E[] values, Function<E, String> spelling) {
    return Arrays.stream(values).map(spelling).toList();
  }
}
