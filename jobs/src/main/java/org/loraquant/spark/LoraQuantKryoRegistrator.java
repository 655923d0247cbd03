package org.loraquant.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.serializer.KryoRegistrator;
import org.loraquant.codec.BudgetLayer;
import org.loraquant.codec.BudgetLayerResult;
import org.loraquant.codec.BudgetLayerStats;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.CompressedLayer;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.codec.FleetAdapterErrors;
import org.loraquant.codec.FleetAdapterScope;
import org.loraquant.codec.FleetAllocation;
import org.loraquant.codec.FleetLayer;
import org.loraquant.codec.FleetProposals;
import org.loraquant.codec.FleetSums;
import org.loraquant.codec.FleetTotals;
import org.loraquant.codec.LayerStats;
import org.loraquant.codec.MeasuredLayer;
import org.loraquant.codec.PackedGroups;
import org.loraquant.codec.QuantTier;
import org.loraquant.compress.LayerReport;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.ExistingOutput;
import org.loraquant.plan.LayerTask;
import org.loraquant.plan.LayerWork;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.spark.stage.AdapterToAssemble;
import org.loraquant.spark.stage.FleetStage;
import org.loraquant.stats.AdapterTotals;
import org.loraquant.spark.stage.JobContext;
import org.loraquant.stats.LayerFigures;
import org.loraquant.spark.stage.LayerOutcome;
import org.loraquant.spark.stage.OpenOutcome;
import org.loraquant.hadoop.OutputFileIO;
import org.loraquant.spark.stage.OutputState;
import org.loraquant.spark.stage.PlannedTask;

/**
 * Makes the job's payloads (docs/ARCHITECTURE.md, "What executors receive") travel under {@code
 * spark.serializer=org.apache.spark.serializer.KryoSerializer}.
 *
 * <p>Spark 4.0 ships Kryo 4, whose default FieldSerializer cannot handle our payloads: it refuses
 * Java records (their fields have no offset for Unsafe and cannot be set by reflection), it
 * rebuilds {@code List.of(...)} without its elements, and it skips {@code readObject}, so a {@link
 * HadoopFileIO} would arrive without its Hadoop configuration. This registrator hands those classes
 * to Kryo's {@link JavaSerializer}: Java serialisation inside the Kryo stream, which every payload
 * supports and tests (ExecutorPayloadSerializationTest). Registered classes are also written as a
 * small id instead of their name, and {@code spark.kryo.registrationRequired=true} then works.
 *
 * <p>{@link RecompressJob#main} and {@code bin/loraquant recompress} add it to {@code
 * spark.kryo.registrator} themselves ({@link #withThisRegistrator}), so a cluster that turns Kryo
 * on for every application still runs the job; it is harmless under Java serialisation.
 */
public final class LoraQuantKryoRegistrator implements KryoRegistrator {
  public static final String REGISTRATOR_KEY = "spark.kryo.registrator";

  /** Every class of ours that Spark may see at the top of a task, result, shuffle or broadcast. */
  static final List<Class<?>> JOB_CLASSES =
      List.of(
          CodecSettings.class,
          HadoopFileIO.class,
          OutputFileIO.class,
          JobContext.class,
          DiscoveredAdapter.class,
          DiscoveredAdapter.AdapterFile.class,
          ExistingOutput.class,
          OutputState.class,
          AdapterTotals.class,
          OpenOutcome.class,
          OpenedAdapter.class,
          StorageRequests.class,
          AdapterToAssemble.class,
          LayerWork.class,
          LayerTask.class,
          PlannedTask.class,
          LayerOutcome.class,
          CompressedLayerResult.class,
          CompressedLayer.class,
          QuantTier.class,
          PackedGroups.class,
          LayerStats.class,
          LayerReport.class,
          LayerFigures.class,
          BudgetSettings.class,
          BudgetLayerResult.class,
          BudgetLayer.class,
          BudgetLayerStats.class,
          MeasuredLayer.class,
          AdapterOutcome.class,
          // the fleet budget (issue 20): measured tables, the aggregations' zero values and
          // partial results, the allocation in the widths' closure
          FleetLayer.class,
          FleetStage.Table.class,
          FleetTotals.class,
          FleetSums.class,
          FleetProposals.class,
          FleetProposals.Upgrade.class,
          FleetAllocation.class,
          // weight adapter's cap rounds: the adapters' errors and their own adapter-scope figures
          FleetAdapterErrors.class,
          FleetAdapterScope.class);

  /**
   * The JDK's immutable collections (List.of, Map.copyOf; not public, hence by name): the job
   * ships {@code List.of()} as the layers of an adapter without any.
   */
  static final List<String> JDK_IMMUTABLE_COLLECTIONS =
      List.of(
          "java.util.ImmutableCollections$List12",
          "java.util.ImmutableCollections$ListN",
          "java.util.ImmutableCollections$Map1",
          "java.util.ImmutableCollections$MapN");

  @Override
  public void registerClasses(Kryo kryo) {
    JavaSerializer java = new JavaSerializer();
    JOB_CLASSES.forEach(type -> kryo.register(type, java));
    for (String name : JDK_IMMUTABLE_COLLECTIONS) {
      try {
        kryo.register(Class.forName(name), java);
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(name + " is not in this JDK: update " + getClass(), e);
      }
    }
  }

  /**
   * The value for {@code spark.kryo.registrator} with this registrator added (after any the
   * cluster configures, which Spark runs in order), or {@code current} if it is already there.
   *
   * @param current the configured value, comma-separated class names; null or empty when unset
   */
  public static String withThisRegistrator(String current) {
    List<String> names = new ArrayList<>();
    if (current != null) {
      Arrays.stream(current.split(",")).map(String::trim).filter(s -> !s.isEmpty())
          .forEach(names::add);
    }
    if (!names.contains(LoraQuantKryoRegistrator.class.getName())) {
      names.add(LoraQuantKryoRegistrator.class.getName());
    }
    return String.join(",", names);
  }
}
