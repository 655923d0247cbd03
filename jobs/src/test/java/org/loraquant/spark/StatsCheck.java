package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the stats tables back with DuckDB, as docs/STATS.md tells users to (committed files only:
 * {@code run_date=*}{@code /*.parquet}), and checks the invariants the job promises.
 */
final class StatsCheck implements AutoCloseable {
  private final Connection db;

  StatsCheck(Path stats) throws SQLException {
    db = DriverManager.getConnection("jdbc:duckdb:");
    try (Statement s = db.createStatement()) {
      for (String table : List.of("layers", "adapters")) {
        s.execute(
            "CREATE VIEW "
                + table
                + " AS SELECT * FROM read_parquet('"
                + stats.resolve(table)
                + "/run_date=*/*.parquet', hive_partitioning = true)");
      }
      s.execute(
          "CREATE VIEW current_adapters AS SELECT * FROM adapters QUALIFY row_number()"
              + " OVER (PARTITION BY adapter ORDER BY run_id DESC, finished_at DESC) = 1");
    }
  }

  long count(String sql) throws SQLException {
    try (Statement s = db.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }

  List<List<Object>> rows(String sql) throws SQLException {
    List<List<Object>> rows = new ArrayList<>();
    try (Statement s = db.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      int columns = r.getMetaData().getColumnCount();
      while (r.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= columns; i++) {
          row.add(r.getObject(i));
        }
        rows.add(row);
      }
    }
    return rows;
  }

  /**
   * The invariants of docs/STATS.md: no duplicate rows; every compressed adapters row has exactly
   * its {@code layers} layer rows and vice versa; every adapter whose latest row has an output has
   * exactly one current set of layer rows, as many as the output has layers.
   */
  void assertInvariants() throws SQLException {
    assertThat(
            count(
                "SELECT count(*) FROM (SELECT run_id, adapter FROM adapters"
                    + " GROUP BY ALL HAVING count(*) > 1)"))
        .as("duplicate adapters rows")
        .isZero();
    assertThat(
            count(
                "SELECT count(*) FROM (SELECT run_id, adapter, module FROM layers"
                    + " GROUP BY ALL HAVING count(*) > 1)"))
        .as("duplicate layers rows")
        .isZero();
    assertThat(
            rows(
                "SELECT a.run_id, a.adapter, a.layers, count(l.module) FROM adapters a LEFT JOIN"
                    + " layers l ON l.run_id = a.run_id AND l.adapter = a.adapter WHERE a.status ="
                    + " 'compressed' GROUP BY ALL HAVING count(l.module) <> a.layers"))
        .as("compressed rows whose layer rows do not match")
        .isEmpty();
    assertThat(
            rows(
                "SELECT l.run_id, l.adapter FROM layers l ANTI JOIN adapters a ON l.run_id ="
                    + " a.run_id AND l.adapter = a.adapter AND a.status = 'compressed'"))
        .as("layer rows without a compressed adapters row")
        .isEmpty();
    assertThat(
            rows(
                "SELECT a.adapter, a.layers, count(l.module) FROM current_adapters a LEFT JOIN"
                    + " layers l ON l.adapter = a.adapter AND l.run_id = a.output_run_id WHERE"
                    + " a.output_run_id IS NOT NULL GROUP BY ALL HAVING count(l.module) <> a.layers"
                    + " OR count(l.module) = 0 AND a.layers > 0"))
        .as("current adapters without exactly one current set of layer rows")
        .isEmpty();
    assertThat(
            rows(
                "SELECT l.adapter, l.input_fingerprint, a.input_fingerprint FROM layers l"
                    + " JOIN adapters a ON l.run_id = a.run_id AND l.adapter = a.adapter"
                    + " WHERE l.input_fingerprint <> a.input_fingerprint"))
        .as("layer rows naming another input than their adapters row")
        .isEmpty();
  }

  @Override
  public void close() throws SQLException {
    db.close();
  }
}
