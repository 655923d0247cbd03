package org.loraquant.s3;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerEnvironmentUpdate;
import org.apache.spark.util.Utils;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A listener ({@code --conf spark.extraListeners=org.loraquant.s3.EnvironmentTabCapture}) that
 * keeps the rows of the Spark UI's environment tab: the environment update every application
 * posts at start, redacted with {@code Utils.redact(conf, rows)} as the tab (and the event log)
 * redact them, with the application's own {@code spark.redaction.regex}.
 */
public final class EnvironmentTabCapture extends SparkListener {
  private static final List<String> ROWS = new ArrayList<>();

  private final SparkConf conf;

  public EnvironmentTabCapture(SparkConf conf) {
    this.conf = conf;
  }

  /** "section: key=value" for every row shown, since the last {@link #clear()}. */
  static synchronized List<String> rows() {
    return List.copyOf(ROWS);
  }

  static synchronized void clear() {
    ROWS.clear();
  }

  @Override
  public void onEnvironmentUpdate(SparkListenerEnvironmentUpdate update) {
    Map<String, scala.collection.Seq<Tuple2<String, String>>> sections =
        CollectionConverters.asJava(update.environmentDetails());
    List<String> shown = new ArrayList<>();
    sections.forEach(
        (section, rows) -> {
          for (Tuple2<String, String> row :
              CollectionConverters.asJava(Utils.redact(conf, rows.toSeq()))) {
            shown.add(section + ": " + row._1() + "=" + row._2());
          }
        });
    synchronized (EnvironmentTabCapture.class) {
      ROWS.addAll(shown);
    }
  }
}
