package org.loraquant.stats;

import java.io.IOException;
import java.io.OutputStream;
import java.time.LocalDate;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.PositionOutputStream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.CatalystTypeConverters;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.execution.datasources.parquet.ParquetWriteSupport;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.loraquant.hadoop.AtomicFile;
import org.loraquant.hadoop.HadoopFileIO;

/**
 * One data file of a stats table: the rows one write has for one {@code run_date}, in the Parquet
 * layout Spark's own writer gives them, written by the driver as a single {@link AtomicFile}.
 *
 * <pre>
 * TABLE/run_date=YYYY-MM-DD/part-UUID.snappy.parquet      (run_date: a folder, not a column)
 *
 * "PAR1" | row groups: the table's columns except run_date, Snappy pages | footer | len | "PAR1"
 * footer: Parquet schema from Spark's type mapping (docs/STATS.md "Types": UTF8 strings, INT32
 *         DATE, INT64 TIMESTAMP(MICROS, UTC), three-level LISTs; non-nullable columns REQUIRED)
 *         key-value metadata: org.apache.spark.version, org.apache.spark.sql.parquet.row.metadata
 *         (the Spark schema of the columns, which Spark reads the types back from)
 * </pre>
 *
 * <p>The rows are encoded by Spark's {@link ParquetWriteSupport}, the class Spark's DataFrame
 * writer encodes them with, under the settings {@link StatsSchema#PARQUET_SPARK_CONF} gives the
 * job's session, so a file reads back in Spark (schema and rows), DuckDB and pyarrow exactly as a
 * file of Spark's writer does ({@code StatsTablesTest} compares the two); Snappy is Spark's default
 * codec. What changes is only who writes the file: the driver, one file per table and date,
 * instead of Spark's writer and its output committer.
 */
public final class StatsFile {
  /** Codec of the pages: Spark's default ({@code spark.sql.parquet.compression.codec}). */
  static final CompressionCodecName CODEC = CompressionCodecName.SNAPPY;

  private StatsFile() {}

  /** The partition folder of a date: {@code run_date=YYYY-MM-DD}, as Spark names it. */
  static String partitionFolder(LocalDate date) {
    return StatsSchema.PARTITION_COLUMN + "=" + date;
  }

  /** A new data file's name; unique, so no write ever replaces another's file. */
  static String newFileName() {
    return "part-" + UUID.randomUUID() + "." + CODEC.name().toLowerCase(java.util.Locale.ROOT)
        + ".parquet";
  }

  /**
   * The rows of a table as Spark holds them internally, split into their {@code run_date} and the
   * columns that go into the file.
   */
  static final class Rows {
    private final StructType schema;
    private final StructType dataSchema;
    private final int partitionIndex;
    private final scala.Function1<Object, Object> toInternal;

    Rows(StructType schema) {
      this.schema = schema;
      this.partitionIndex = schema.fieldIndex(StatsSchema.PARTITION_COLUMN);
      StructField[] data = new StructField[schema.length() - 1];
      for (int i = 0, j = 0; i < schema.length(); i++) {
        if (i != partitionIndex) {
          data[j++] = schema.fields()[i];
        }
      }
      this.dataSchema = new StructType(data);
      // The conversion Spark applies to Rows given to createDataFrame (java.sql.Date to days,
      // Timestamp to microseconds, strings to UTF-8, arrays).
      this.toInternal = CatalystTypeConverters.createToCatalystConverter(schema);
    }

    StructType dataSchema() {
      return dataSchema;
    }

    /** One row, converted: its run_date and its file columns. */
    Split split(String table, Row row) {
      if (row.length() != schema.length()) {
        throw new IllegalArgumentException(
            "stats table " + table + ": a row of " + row.length() + " columns, the table has "
                + schema.length());
      }
      InternalRow full = (InternalRow) toInternal.apply(row);
      StructField[] fields = schema.fields();
      Object[] values = new Object[fields.length - 1];
      for (int i = 0, j = 0; i < fields.length; i++) {
        if (full.isNullAt(i) && !fields[i].nullable()) {
          // Parquet would write a REQUIRED column without a value: refuse the row instead.
          throw new IllegalArgumentException(
              "stats table " + table + ": column '" + fields[i].name()
                  + "' must not be null (row " + row + ")");
        }
        if (i != partitionIndex) {
          values[j++] = full.isNullAt(i) ? null : full.get(i, fields[i].dataType());
        }
      }
      return new Split(LocalDate.ofEpochDay(full.getInt(partitionIndex)),
          new GenericInternalRow(values));
    }
  }

  /** A row's run_date and its file columns. */
  record Split(LocalDate runDate, InternalRow data) {}

  /**
   * Writes rows into one {@link AtomicFile}. {@link #finish} writes the footer; the file becomes
   * visible only when the caller commits the AtomicFile, and {@link #abort} leaves nothing.
   */
  static final class Writer {
    private final AtomicFile file;
    private final ParquetWriter<InternalRow> parquet;
    private long rows;

    private Writer(AtomicFile file, ParquetWriter<InternalRow> parquet) {
      this.file = file;
      this.parquet = parquet;
    }

    /**
     * Starts a file of {@code dataSchema}'s columns at {@code path}.
     *
     * @param sparkSettings the Spark SQL settings the encoding reads: {@link
     *     StatsSchema#PARQUET_SPARK_CONF} and the field-id switch, as the session has them
     */
    static Writer open(
        HadoopFileIO io,
        String path,
        String stagingFolder,
        StructType dataSchema,
        Map<String, String> sparkSettings)
        throws IOException {
      Configuration conf = new Configuration(io.conf());
      sparkSettings.forEach(conf::set);
      ParquetWriteSupport.setSchema(dataSchema, conf);
      AtomicFile file = AtomicFile.create(io, path, stagingFolder);
      try {
        ParquetWriter<InternalRow> parquet =
            new Builder(new StreamOutputFile(path, file.stream()))
                .withConf(conf)
                .withCompressionCodec(CODEC)
                .build();
        return new Writer(file, parquet);
      } catch (IOException | RuntimeException e) {
        file.abort();
        throw e;
      }
    }

    void write(InternalRow row) throws IOException {
      parquet.write(row);
      rows++;
    }

    long rows() {
      return rows;
    }

    AtomicFile file() {
      return file;
    }

    /** Writes the last row group and the footer; the stream stays open for the commit. */
    void finish() throws IOException {
      parquet.close();
    }

    /** Leaves nothing at the path (the footer need not have been written). */
    void abort() {
      file.abort();
    }
  }

  /** The settings {@link ParquetWriteSupport} reads, from the session. */
  static Map<String, String> sparkSettings(org.apache.spark.sql.SparkSession spark) {
    String fieldIds = SQLConf.PARQUET_FIELD_ID_WRITE_ENABLED().key();
    Map<String, String> settings = new java.util.HashMap<>(StatsSchema.PARQUET_SPARK_CONF);
    settings.put(fieldIds, spark.conf().get(fieldIds));
    return settings;
  }

  /** Parquet's builder around Spark's write support. */
  private static final class Builder extends ParquetWriter.Builder<InternalRow, Builder> {
    Builder(org.apache.parquet.io.OutputFile file) {
      super(file);
    }

    @Override
    protected Builder self() {
      return this;
    }

    @Override
    protected WriteSupport<InternalRow> getWriteSupport(Configuration conf) {
      return new ParquetWriteSupport();
    }
  }

  /**
   * Parquet's view of the AtomicFile's stream. Parquet closes its file when it has written the
   * footer; here that only flushes: closing the stream is the commit, which is the caller's.
   */
  private static final class StreamOutputFile implements org.apache.parquet.io.OutputFile {
    private final String path;
    private final OutputStream out;

    StreamOutputFile(String path, OutputStream out) {
      this.path = path;
      this.out = out;
    }

    @Override
    public PositionOutputStream create(long blockSizeHint) {
      return new PositionOutputStream() {
        private long position;

        @Override
        public long getPos() {
          return position;
        }

        @Override
        public void write(int b) throws IOException {
          out.write(b);
          position++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          out.write(b, off, len);
          position += len;
        }

        @Override
        public void flush() throws IOException {
          out.flush();
        }

        @Override
        public void close() throws IOException {
          out.flush();
        }
      };
    }

    @Override
    public PositionOutputStream createOrOverwrite(long blockSizeHint) {
      return create(blockSizeHint);
    }

    @Override
    public boolean supportsBlockSize() {
      return false;
    }

    @Override
    public long defaultBlockSize() {
      return 0;
    }

    @Override
    public String getPath() {
      return path;
    }
  }
}
