package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.CodecSetting;
import org.loraquant.format.CompressedFormat;
import org.loraquant.testing.PythonScripts;
import org.loraquant.testing.TestPaths;

/**
 * {@code inspect}'s settings line names the codec settings by their declaration ({@link
 * CodecSetting#configKey}), and the Python reader's {@code inspect} (python/loraquant/inspection.py,
 * which cannot read the Java declarations) shows exactly the same keys in the same order.
 */
class InspectionKeysTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void theSettingsShownAreDeclaredCodecSettingsOfTheirMode() {
    assertThat(CompressedInspection.SETTINGS)
        .containsExactlyInAnyOrderElementsOf(CodecSetting.of(CodecSetting.Mode.PAPER));
    assertThat(CompressedInspection.BUDGET_SETTINGS)
        .allMatch(s -> s.mode().includes(CodecSetting.Mode.BUDGET))
        .doesNotContain(CodecSetting.BUDGET_WEIGHT);
  }

  @Test
  void pythonInspectShowsTheKeysJavaDeclares() throws Exception {
    String python = PythonScripts.pythonOrSkip();
    JsonNode report = PythonScripts.run(python,
        TestPaths.jobsModule().resolve("src/test/python/inspection_keys.py"), List.of(),
        Map.of("PYTHONPATH", PythonScripts.packageFolder().toString()), Duration.ofSeconds(60), tmp);
    assertThat(report.get("settings")).isEqualTo(expected(CompressedInspection.SETTINGS));
    assertThat(report.get("budget_settings")).isEqualTo(expected(CompressedInspection.BUDGET_SETTINGS));
  }

  /** [[config key, shown name], ...] as inspection.py lists them. */
  private static JsonNode expected(List<CodecSetting> settings) {
    List<List<String>> pairs = new ArrayList<>();
    for (CodecSetting s : settings) {
      pairs.add(List.of(s.configKey(), s.configKey()));
    }
    pairs.add(List.of(CompressedFormat.SETTINGS_FINGERPRINT_KEY, CompressedInspection.FINGERPRINT));
    return JSON.valueToTree(pairs);
  }
}
