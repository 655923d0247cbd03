package org.loraquant.spark;

import java.io.IOException;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.mapreduce.JobContext;
import org.apache.hadoop.mapreduce.TaskAttemptContext;
import org.apache.parquet.hadoop.ParquetOutputCommitter;

/**
 * Test only ({@link KillPoints}): Spark's Parquet committer with the {@code TABLE-job-setup} and
 * {@code TABLE-job-commit} points, TABLE being the written folder's name. Used only when a test
 * names one of those points.
 */
public final class KillPointCommitter extends ParquetOutputCommitter {
  private final String table;

  public KillPointCommitter(Path outputPath, TaskAttemptContext context) throws IOException {
    super(outputPath, context);
    this.table = outputPath.getName();
  }

  @Override
  public void setupJob(JobContext context) throws IOException {
    super.setupJob(context);
    KillPoints.reached(table + KillPoints.JOB_SETUP);
  }

  @Override
  public void commitJob(JobContext context) throws IOException {
    KillPoints.reached(table + KillPoints.JOB_COMMIT);
    super.commitJob(context);
  }
}
