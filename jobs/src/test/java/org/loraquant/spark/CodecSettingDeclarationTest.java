package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.loraquant.codec.BudgetLayerStats;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSetting;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.FleetWeight;
import org.loraquant.codec.LayerStats;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.compress.BudgetCompressionResult;
import org.loraquant.compress.LayerReport;
import org.loraquant.compress.LayerReportJson;
import org.loraquant.options.BudgetFlags;
import org.loraquant.options.CodecFlags;
import org.loraquant.stats.LayerFigures;
import org.loraquant.stats.StatsSchema;

/**
 * Every codec setting is declared once ({@link CodecSetting}) and every place that names it uses
 * that declaration: the flags, the stats columns, the codec block, the layer lines and the
 * fingerprint. Where the names differ (issue 19: {@code refine} column, {@code refinement} JSON
 * field) the declaration records both and each place writes its own.
 */
class CodecSettingDeclarationTest {
  private static final CodecSettings PAPER = CodecSettings.defaults();
  private static final BudgetSettings BUDGET = BudgetSettings.of(1.4);
  private static final BudgetSettings FLEET =
      BudgetSettings.of(1.4).withScope(BudgetScope.FLEET).withWeight(FleetWeight.ADAPTER);

  @Test
  void eachSettingHasItsFlagAndItsColumnInBothTables() {
    Set<String> flags = new HashSet<>(CodecFlags.OPTIONS);
    flags.addAll(BudgetFlags.OPTIONS);
    Set<String> declared = new HashSet<>();
    for (CodecSetting s : CodecSetting.values()) {
      declared.add(s.flag());
      assertThat(s.flag()).isEqualTo("--" + s.key());
      for (StructType table : List.of(StatsSchema.LAYERS, StatsSchema.ADAPTERS)) {
        StructField column = table.apply(s.statsColumn());
        assertThat(column.nullable())
            .as("%s nullable: only settings of both modes are always there", s)
            .isEqualTo(s.mode() != CodecSetting.Mode.BOTH);
      }
    }
    assertThat(flags).isEqualTo(declared);
  }

  @Test
  void theDriftBetweenNamesIsRecordedNotHidden() {
    assertThat(CodecSetting.REFINE.statsColumn()).isEqualTo("refine");
    assertThat(CodecSetting.REFINE.jsonKey()).isEqualTo("refinement");
    assertThat(CodecSetting.BUDGET.configKey()).isEqualTo("budget");
    assertThat(CodecSetting.BUDGET.jsonKey()).isEqualTo("budget_bits");
    assertThat(CodecSetting.GROUP_SIZE.fingerprintKey()).isEqualTo("group");
  }

  @Test
  void layerLinesCodecBlocksAndFingerprintsUseTheDeclaredKeys() {
    LayerStats stats =
        new LayerStats(8, 6, 2, 2, 1, new float[] {2f, 1f}, 0.8, 28, 28, 600, 0.1, 0.05, 0.08,
            false, 1000);
    ObjectNode paperLine =
        LayerReportJson.toJson(new LayerReport("layers.0.q_proj", stats, 56, 75), PAPER);
    ObjectNode paperBlock = AdapterCompressor.codecBlock(PAPER);
    BudgetLayerStats budgetStats =
        new BudgetLayerStats(8, 6, 2, new int[] {3, 0}, 28, 600, 0.01, 1, 1, 1000);
    ObjectNode budgetLine =
        new BudgetCompressionResult.Layer("layers.0.q_proj", budgetStats, 56, 75).toJson(BUDGET);
    ObjectNode budgetBlock = AdapterCompressor.codecBlock(BUDGET);
    ObjectNode fleetLine =
        new BudgetCompressionResult.Layer("layers.0.q_proj", budgetStats, 56, 75).toJson(FLEET);
    ObjectNode fleetBlock = AdapterCompressor.codecBlock(FLEET);
    LayerFigures paperFigures =
        LayerFigures.paper(new LayerReport("layers.0.q_proj", stats, 56, 75), PAPER);
    for (CodecSetting s : CodecSetting.values()) {
      boolean paper = s.mode().includes(CodecSetting.Mode.PAPER);
      boolean budget = s.mode().includes(CodecSetting.Mode.BUDGET);
      assertThat(paperLine.has(s.jsonKey())).as("paper line %s", s).isEqualTo(paper);
      assertThat(paperBlock.has(s.configKey())).as("paper block %s", s).isEqualTo(paper);
      // The fleet scope's weight only in that scope: the other scopes' bytes stay as they were.
      boolean inAdapterScope = budget && s != CodecSetting.BUDGET_WEIGHT;
      assertThat(budgetLine.has(s.jsonKey())).as("budget line %s", s).isEqualTo(inAdapterScope);
      assertThat(budgetBlock.has(s.configKey())).as("budget block %s", s).isEqualTo(inAdapterScope);
      assertThat(fleetLine.has(s.jsonKey())).as("fleet line %s", s).isEqualTo(budget);
      assertThat(fleetBlock.has(s.configKey())).as("fleet block %s", s).isEqualTo(budget);
      assertThat(FLEET.fingerprint().contains(";" + s.fingerprintKey() + "="))
          .as("fleet fingerprint %s", s)
          .isEqualTo(budget);
      if (budget) {
        assertThat(fleetLine.get(s.jsonKey()).asText())
            .as("fleet line %s", s)
            .isEqualTo(String.valueOf(FLEET.value(s)));
      }
      assertThat(PAPER.fingerprint().contains(";" + s.fingerprintKey() + "="))
          .as("paper fingerprint %s", s)
          .isEqualTo(paper);
      assertThat(BUDGET.fingerprint().contains(";" + s.fingerprintKey() + "="))
          .as("budget fingerprint %s", s)
          .isEqualTo(inAdapterScope);
      if (paper) {
        // The stats row holds what the JSON line holds, under the column's name.
        assertThat(paperFigures.columns().get(s.statsColumn()))
            .as("paper stats %s", s)
            .hasToString(paperLine.get(s.jsonKey()).asText());
      }
    }
  }
}
