package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.Serializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.loraquant.codec.BudgetCodec;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.CompressedLayerResult;
import org.loraquant.codec.FleetAdapterErrors;
import org.loraquant.codec.FleetAdapterScope;
import org.loraquant.codec.FleetAllocation;
import org.loraquant.codec.FleetAllocator;
import org.loraquant.codec.FleetLayer;
import org.loraquant.codec.FleetProposals;
import org.loraquant.codec.FleetSums;
import org.loraquant.codec.FleetTotals;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.LoraQuantCodec;
import org.loraquant.codec.MeasuredLayer;
import org.loraquant.compress.LayerReport;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.OutputFileIO;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.ExistingOutput;
import org.loraquant.plan.LayerTask;
import org.loraquant.plan.LayerWork;
import org.loraquant.spark.stage.AdapterToAssemble;
import org.loraquant.spark.stage.FleetStage;
import org.loraquant.spark.stage.JobContext;
import org.loraquant.spark.stage.LayerOutcome;
import org.loraquant.spark.stage.OpenOutcome;
import org.loraquant.spark.stage.OutputState;
import org.loraquant.spark.stage.PlannedTask;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.stats.AdapterStatus;
import org.loraquant.stats.AdapterTotals;
import org.loraquant.stats.LayerFigures;
import scala.reflect.ClassTag$;

/**
 * Everything the nightly job ships between driver and executors (docs/ARCHITECTURE.md, "What
 * executors receive") survives Java serialisation and Spark's Kryo with {@link
 * LoraQuantKryoRegistrator} (registration required or not), and stays small: settings and storage
 * access in bytes, per-adapter and per-layer descriptors in a bounded number of bytes per item, and
 * no tensor data anywhere except in the compressed layers coming back.
 */
class ExecutorPayloadSerializationTest {
  private static final int ADAPTERS = 50;
  private static final int LAYERS = 200;

  static Stream<Arguments> serializers() {
    // As the job runs it: with LoraQuantKryoRegistrator, which it adds itself.
    SparkConf kryo =
        new SparkConf(false)
            .set("spark.serializer", KryoSerializer.class.getName())
            .set("spark.kryo.registrationRequired", "false")
            .set("spark.kryo.registrator", LoraQuantKryoRegistrator.class.getName());
    SparkConf registered =
        new SparkConf(false)
            .set("spark.serializer", KryoSerializer.class.getName())
            .set("spark.kryo.registrationRequired", "true")
            .set("spark.kryo.registrator", LoraQuantKryoRegistrator.class.getName());
    return Stream.of(
        Arguments.of("java", new JavaSerializer(new SparkConf(false))),
        Arguments.of("kryo", new KryoSerializer(kryo)),
        Arguments.of("kryo-registered", new KryoSerializer(registered)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void codecSettingsAreAFewHundredBytes(String name, Serializer serializer) {
    CodecSettings settings = CodecSettings.defaults().withRho(0.9);
    assertThat(roundTrip(serializer, settings)).isEqualTo(settings);
    assertThat(size(serializer, settings)).as("%s bytes of CodecSettings", name).isLessThan(1024);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void hadoopFileIoShipsItsSettingsSnapshotOnly(String name, Serializer serializer) {
    HadoopFileIO io = hadoopFileIO();
    HadoopFileIO copy = roundTrip(serializer, io);
    assertThat(copy.shippedSettings()).isEqualTo(io.shippedSettings());
    assertThat(copy.conf().get("fs.s3a.endpoint")).isEqualTo("http://127.0.0.1:9000");
    // A whole Configuration would be tens of kilobytes.
    assertThat(size(serializer, io)).as("%s bytes of HadoopFileIO", name).isLessThan(2048);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void jobContextGrowsWithTheAdaptersOfTheRunOnly(String name, Serializer serializer) {
    JobContext one = jobContext(1);
    JobContext many = jobContext(ADAPTERS);
    for (JobContext context : List.of(one, many)) {
      JobContext copy = roundTrip(serializer, context);
      assertThat(copy.settings()).isEqualTo(context.settings());
      assertThat(copy.adapters()).isEqualTo(context.adapters());
      assertThat(copy.io().shippedSettings()).isEqualTo(context.io().shippedSettings());
      assertThat(List.of(copy.outputRoot(), copy.runId(), copy.runDate()))
          .isEqualTo(List.of(context.outputRoot(), context.runId(), context.runDate()));
    }
    assertThat(size(serializer, one)).as("%s bytes of a one-adapter JobContext", name)
        .isLessThan(4096);
    long perAdapter = (size(serializer, many) - size(serializer, one)) / (ADAPTERS - 1);
    assertThat(perAdapter).as("%s bytes per adapter in JobContext", name).isLessThan(1024);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void layerTaskIsADescriptorOfAboutAHundredBytesPerLayer(String name, Serializer serializer) {
    LayerTask one = layerTask(1);
    LayerTask many = layerTask(LAYERS);
    assertThat(roundTrip(serializer, one)).isEqualTo(one);
    assertThat(roundTrip(serializer, many)).isEqualTo(many);
    long perLayer = (size(serializer, many) - size(serializer, one)) / (LAYERS - 1);
    assertThat(perLayer).as("%s bytes per layer in LayerTask", name).isLessThan(200);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void partitionsAndResultsOfTheDriverSideStagesRoundTrip(String name, Serializer serializer) {
    ExistingOutput output = new ExistingOutput("team-a/adapter-1", "s3a://out/team-a/adapter-1", 9, 4);
    OutputState state =
        new OutputState(output, "settings-sha", "input-sha", "20261122T010000Z-3f9a1c2e",
            LocalDate.of(2026, 11, 22), Instant.parse("2026-11-22T01:02:03Z"),
            new AdapterTotals(28, 1000, 2000, 0.01, "q_proj", 0.02, 1.5, 1800), null);
    StorageRequests requests = new StorageRequests(0, 2, 0, 0, 66_000);
    OpenOutcome opened =
        new OpenOutcome("team-a/adapter-1", AdapterStatus.COMPRESSED, null,
            layerTask(28).layers(), openedAdapter("team-a/adapter-1", 28), requests);
    OpenOutcome failed =
        new OpenOutcome("team-a/adapter-2", AdapterStatus.FAILED, "bad header", List.of(), null,
            requests);
    AdapterToAssemble toAssemble = new AdapterToAssemble(opened.openedAdapter(), requests);
    for (Object payload :
        List.of(output, state, opened, failed, "team-a/adapter-1", toAssemble, requests)) {
      assertThat(roundTrip(serializer, payload)).isEqualTo(payload);
      // The header travels: about 0.15 KB per tensor, 56 tensors here.
      assertThat(size(serializer, payload)).as("%s bytes of %s", name, payload).isLessThan(16384);
    }
  }

  /** A layer task with the headers of its adapters: the header bytes dominate, ~0.3 KB a layer. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void plannedTasksCarryTheirAdaptersHeaders(String name, Serializer serializer) {
    LayerTask task = layerTask(LAYERS);
    Map<String, OpenedAdapter> opened = new LinkedHashMap<>();
    task.layers().forEach(l -> opened.put(l.adapter(), openedAdapter(l.adapter(), 28)));
    opened.put("team-z/not-in-this-task", openedAdapter("team-z/not-in-this-task", 28));
    PlannedTask planned = PlannedTask.of(task, opened);

    assertThat(planned.adapters()).doesNotContainKey("team-z/not-in-this-task");
    assertThat(roundTrip(serializer, planned)).isEqualTo(planned);
    long perLayer = size(serializer, planned) / LAYERS;
    assertThat(perLayer).as("%s bytes per layer in PlannedTask", name).isLessThan(600);
  }

  /** What opening an adapter with {@code layers} LoRA layers reads: config and header bytes. */
  private static OpenedAdapter openedAdapter(String path, int layers) {
    StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
    long offset = 0;
    for (int i = 0; i < layers; i++) {
      for (String factor : List.of("lora_A", "lora_B")) {
        header.append(",\"base_model.model.model.layers.").append(i)
            .append(".self_attn.q_proj.").append(factor).append(".weight\":{\"dtype\":\"BF16\",")
            .append("\"shape\":[16,4096],\"data_offsets\":[").append(offset).append(',')
            .append(offset + 131_072).append("]}");
        offset += 131_072;
      }
    }
    header.append('}');
    return new OpenedAdapter("s3a://lora-adapters/fleet/" + path,
        "{\"peft_type\":\"LORA\",\"r\":16}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        header.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8), 8 + offset);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void compressedLayersAndAdapterOutcomesComeBackIntact(String name, Serializer serializer) {
    CompressedLayerResult result = compressedLayer();
    LayerOutcome layer = LayerOutcome.paper("team-a/adapter-1", "layers.0.q_proj", result, StorageRequests.NONE);
    LayerOutcome failedLayer = LayerOutcome.failed("team-a/adapter-1", "layers.0.k_proj", "NaN", AdapterStatus.FAILED, StorageRequests.NONE);
    AdapterOutcome adapter =
        AdapterOutcome.compressed("team-a/adapter-1",
            List.of(LayerFigures.paper(
                new LayerReport("layers.0.q_proj", result.stats(), 4096, 600),
                CodecSettings.defaults())), 700, 90, 0.5,
            Instant.parse("2026-11-22T01:02:03Z"));
    AdapterOutcome collected = adapter.withoutLayers();
    for (Object payload : List.of(layer, failedLayer, adapter, adapter.layers(), collected)) {
      assertThat(roundTrip(serializer, payload))
          .usingRecursiveComparison()
          .isEqualTo(payload);
    }
    // What the driver collects per adapter: its totals, not its layer reports.
    assertThat(collected.layers()).isEmpty();
    assertThat(collected.totals()).isEqualTo(adapter.totals());
    assertThat(collected.totals().layers()).isEqualTo(1);
    assertThat(size(serializer, collected)).as("%s bytes of a collected AdapterOutcome", name)
        .isLessThan(1024);
    // The compressed layer is the one payload that carries data: about 2 bits per parameter
    // (here (m + n) * r = 6144 parameters, 1.5 KB of codes), not the 24 KB of decoded floats.
    assertThat(size(serializer, layer)).as("%s bytes of a compressed LayerOutcome", name)
        .isLessThan(6 * 1024);
  }

  /**
   * Scope fleet: a measured layer (thin SVD and table) is persisted until it is encoded, and
   * spills through the serializer: it comes back whole, encodes to the same bytes, and weighs
   * about its factors in doubles, 8 (m + n) k bytes, plus its table.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void measuredLayersOfTheFleetScopeRoundTrip(String name, Serializer serializer) {
    BudgetSettings budget = BudgetSettings.of(1.4).withScope(BudgetScope.FLEET);
    int m = 256;
    int n = 128;
    int r = 16;
    Random random = new Random(43);
    float[] b = new float[m * r];
    float[] a = new float[r * n];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) random.nextGaussian();
    }
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) random.nextGaussian();
    }
    LinearAlgebra linalg = LinearAlgebra.current();
    MeasuredLayer measured = BudgetCodec.measureForEncoding("team-a/adapter-1",
        "layers.0.q_proj", new LoraFactors(m, n, r, b, a), budget, linalg);
    LayerOutcome layer = LayerOutcome.measured("team-a/adapter-1", "layers.0.q_proj", measured,
        StorageRequests.NONE);
    LayerOutcome copy = roundTrip(serializer, layer);
    assertThat(copy).usingRecursiveComparison().isEqualTo(layer);
    assertThat(roundTrip(serializer, measured.fleetLayer())).isEqualTo(measured.fleetLayer());

    int[] widths = new int[measured.fleetLayer().components()];
    java.util.Arrays.fill(widths, 3);
    assertThat(BudgetCodec.encode(copy.measured(), widths, budget, linalg).layer())
        .usingRecursiveComparison()
        .isEqualTo(BudgetCodec.encode(measured, widths, budget, linalg).layer());
    assertThat(size(serializer, layer)).as("%s bytes of a measured LayerOutcome", name)
        .isBetween(measured.factorBytes(), measured.factorBytes() + 4096);
  }

  /** The adapter-level iterable a groupByKey hands to the assembly task, as Spark ships it. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void emptyGroupsOfAdaptersWithoutLayersRoundTrip(String name, Serializer serializer) {
    scala.Tuple2<String, Iterable<LayerOutcome>> group =
        new scala.Tuple2<>("team-a/empty", List.of());
    scala.Tuple2<String, Iterable<LayerOutcome>> copy = roundTrip(serializer, group);
    assertThat(copy._1()).isEqualTo("team-a/empty");
    assertThat(copy._2()).isEmpty();
  }

  @Test
  void theJobAddsItsRegistratorOnceAfterTheClustersOwn() {
    String ours = LoraQuantKryoRegistrator.class.getName();
    assertThat(LoraQuantKryoRegistrator.withThisRegistrator(null)).isEqualTo(ours);
    assertThat(LoraQuantKryoRegistrator.withThisRegistrator("com.example.Reg"))
        .isEqualTo("com.example.Reg," + ours);
    assertThat(LoraQuantKryoRegistrator.withThisRegistrator(" com.example.Reg , " + ours))
        .isEqualTo("com.example.Reg," + ours);
  }

  /**
   * The fleet budget's payloads (issue 20): measured layers persisted and returned by tasks, and
   * the zero values and partial results of the allocator's treeAggregate passes. Under Kryo
   * without the registrator the records among them fail (found by ClusterSubmitIT's fleet run).
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("serializers")
  void fleetTablesAndPartialSumsRoundTrip(String name, Serializer serializer) {
    Random random = new Random(7);
    int m = 64;
    int n = 32;
    int r = 4;
    float[] b = new float[m * r];
    float[] a = new float[r * n];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) random.nextGaussian();
    }
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) random.nextGaussian();
    }
    FleetLayer layer = FleetLayer.measure("team-a/adapter-1", "q_proj", new LoraFactors(m, n, r, b, a),
        BudgetSettings.of(1.4).levels(), 128, LinearAlgebra.current());
    assertThat(roundTrip(serializer, layer)).isEqualTo(layer);
    // What the allocation keeps of the layer stage: the table, or only the adapter of a failure.
    FleetStage.Table table = new FleetStage.Table(layer.adapter(), layer);
    assertThat(roundTrip(serializer, table)).isEqualTo(table);
    FleetStage.Table failed = new FleetStage.Table("team-a/adapter-2", null);
    assertThat(roundTrip(serializer, failed)).isEqualTo(failed);
    FleetTotals totals = FleetTotals.of(layer);
    assertThat(roundTrip(serializer, totals)).isEqualTo(totals);
    assertThat(roundTrip(serializer, FleetTotals.ZERO)).isEqualTo(FleetTotals.ZERO);
    FleetSums sums = FleetSums.of(layer, new double[] {1e-6, 1e-3});
    assertThat(roundTrip(serializer, sums)).hasToString(sums.toString());
    FleetProposals none = FleetProposals.empty(4);
    assertThat(roundTrip(serializer, none).best()).isEqualTo(none.best());
    // Weight adapter's rounds: each adapter's error under an allocation, its own scope's figures.
    FleetAllocation allocation = FleetAllocator.allocate(List.of(layer), 2L * layer.params());
    FleetAdapterErrors errors = FleetAdapterErrors.of(layer, allocation);
    assertThat(roundTrip(serializer, errors).byAdapter()).isEqualTo(errors.byAdapter());
    FleetAdapterScope own = FleetAdapterScope.of(layer.adapter(), List.of(layer), 1.4);
    assertThat(roundTrip(serializer, own)).isEqualTo(own);
  }

  private static HadoopFileIO hadoopFileIO() {
    Configuration conf = new Configuration();
    conf.set("fs.s3a.endpoint", "http://127.0.0.1:9000");
    conf.set("fs.s3a.path.style.access", "true");
    conf.set("spark.not.shipped", "x");
    return new HadoopFileIO(conf);
  }

  private static JobContext jobContext(int adapters) {
    Map<String, DiscoveredAdapter> byPath = new LinkedHashMap<>();
    for (int i = 0; i < adapters; i++) {
      String path = "team-" + (i % 5) + "/adapter-" + i;
      byPath.put(path, discovered(path));
    }
    HadoopFileIO io = hadoopFileIO();
    return new JobContext(io, OutputFileIO.forScheme(io, "s3a"), CodecSettings.defaults(), "s3a://lora-out/fleet",
        "20261122T010000Z-3f9a1c2e", LocalDate.of(2026, 11, 22), Map.copyOf(byPath));
  }

  private static DiscoveredAdapter discovered(String path) {
    String location = "s3a://lora-adapters/fleet/" + path;
    return new DiscoveredAdapter(path, location,
        List.of(
            new DiscoveredAdapter.AdapterFile("adapter_config.json", 700, 1_763_000_000_000L,
                "\"9b2cf535f27731c974343645a3985328\""),
            new DiscoveredAdapter.AdapterFile("adapter_model.safetensors", 40_000_000,
                1_763_000_000_000L, "\"d41d8cd98f00b204e9800998ecf8427e-5\"")),
        "4f2a9c0e5b7d1e3a8c6b0d2f4e6a8c0b2d4f6e8a0c2e4a6b8d0f2a4c6e8b0d2f");
  }

  private static LayerTask layerTask(int layers) {
    List<LayerWork> work = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      work.add(new LayerWork("team-a/adapter-" + (i / 28),
          "base_model.model.model.layers." + (i % 28) + ".self_attn.q_proj", 262_144));
    }
    return new LayerTask(7, work, 262_144L * layers);
  }

  private static CompressedLayerResult compressedLayer() {
    int m = 256;
    int n = 128;
    int r = 16;
    Random random = new Random(42);
    float[] b = new float[m * r];
    float[] a = new float[r * n];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) random.nextGaussian();
    }
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) random.nextGaussian();
    }
    return LoraQuantCodec.compress(new LoraFactors(m, n, r, b, a), CodecSettings.defaults());
  }

  @SuppressWarnings("unchecked")
  private static <T> T roundTrip(Serializer serializer, T value) {
    SerializerInstance instance = serializer.newInstance();
    ByteBuffer bytes = instance.serialize(value, ClassTag$.MODULE$.Any());
    return (T) instance.deserialize(bytes, ClassTag$.MODULE$.Any());
  }

  private static long size(Serializer serializer, Object value) {
    return serializer.newInstance().serialize(value, ClassTag$.MODULE$.Any()).remaining();
  }

}
