package org.loraquant.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** docs/STATS.md and {@link StatsSchema} list the same columns, in order, with the same types. */
class StatsSchemaTest {
  private static final Set<String> STANDARD_TYPES =
      Set.of(
          "string",
          "int",
          "bigint",
          "float",
          "double",
          "boolean",
          "date",
          "timestamp",
          "array<float>",
          "array<int>");

  private static List<String> documentedColumns(String table) throws IOException {
    Path doc = Path.of(System.getProperty("loraquant.project.root"), "docs", "STATS.md");
    List<String> lines = Files.readAllLines(doc);
    int heading = lines.indexOf("## Table `" + table + "`");
    assertThat(heading).as("heading for table %s in %s", table, doc).isNotNegative();
    List<String> columns = new ArrayList<>();
    boolean inTable = false;
    for (String line : lines.subList(heading + 1, lines.size())) {
      if (line.startsWith("| `")) {
        inTable = true;
        String[] cells = line.split("\\|");
        String name = cells[1].trim().replace("`", "");
        columns.add(name + " " + cells[2].trim() + " " + cells[3].trim());
      } else if (inTable && !line.startsWith("|")) {
        break;
      } else if (line.startsWith("## ")) {
        break;
      }
    }
    return columns;
  }

  private static List<String> schemaColumns(StructType schema) {
    List<String> columns = new ArrayList<>();
    for (StructField f : schema.fields()) {
      columns.add(
          f.name() + " " + f.dataType().simpleString() + " " + (f.nullable() ? "yes" : "no"));
    }
    return columns;
  }

  @Test
  void layersTableIsDocumentedColumnByColumn() throws IOException {
    assertThat(documentedColumns("layers"))
        .isNotEmpty()
        .containsExactlyElementsOf(schemaColumns(StatsSchema.LAYERS));
  }

  @Test
  void adaptersTableIsDocumentedColumnByColumn() throws IOException {
    assertThat(documentedColumns("adapters"))
        .isNotEmpty()
        .containsExactlyElementsOf(schemaColumns(StatsSchema.ADAPTERS));
  }

  @Test
  void onlyStandardParquetTypesAreUsed() {
    for (StructType schema : List.of(StatsSchema.LAYERS, StatsSchema.ADAPTERS)) {
      for (StructField f : schema.fields()) {
        assertThat(f.dataType().simpleString()).as(f.name()).isIn(STANDARD_TYPES);
      }
      assertThat(schema.fieldNames()).contains(StatsSchema.PARTITION_COLUMN);
    }
  }

  @Test
  void issueColumnsAreAllPresent() {
    assertThat(StatsSchema.LAYERS.fieldNames())
        .contains(
            "run_id",
            "run_date",
            "adapter",
            "input_fingerprint",
            "module",
            "module_kind",
            "layer_index",
            "m",
            "n",
            "rank",
            "k",
            "h",
            "rho",
            "bits_high",
            "group_size",
            "split_rule",
            "singular_values",
            "energy_high",
            "payload_bits",
            "effective_bits",
            "params",
            "bytes_in",
            "bytes_out",
            "rel_error",
            "error_high",
            "error_low",
            "seconds",
            "status",
            "message");
  }
}
