package org.loraquant.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.io.LocalFileIO;
import org.loraquant.safetensors.DType;

class FleetGeneratorTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path temp;

  private static FleetGenerator generator(int adapters, int rank, long seed) {
    return new FleetGenerator(
        new LocalFileIO(), new FleetGenerator.Options(adapters, ModelShape.TINY, rank, seed));
  }

  @Test
  void writesPeftAdaptersWhoseTensorsMatchTheirConfig() throws IOException {
    FleetSummary summary = generator(10, 0, 42).generate(temp.resolve("fleet").toString());
    List<AdapterSpec> specs = generator(10, 0, 42).plan();

    assertThat(summary.adapters()).hasSize(10);
    for (int i = 0; i < specs.size(); i++) {
      AdapterSpec spec = specs.get(i);
      Path dir = temp.resolve("fleet").resolve(spec.relativePath());
      JsonNode config = JSON.readTree(dir.resolve("adapter_config.json").toFile());
      assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
      assertThat(config.get("task_type").asText()).isEqualTo("CAUSAL_LM");
      assertThat(config.get("r").asInt()).isEqualTo(spec.rank());
      assertThat(config.get("lora_alpha").asInt()).isEqualTo(spec.alpha());
      assertThat(config.get("base_model_name_or_path").asText())
          .isEqualTo("loraquant/tiny-llama-test");
      List<String> targets = new ArrayList<>();
      config.get("target_modules").forEach(t -> targets.add(t.asText()));
      assertThat(targets).isEqualTo(spec.targets());

      Path weights = dir.resolve("adapter_model.safetensors");
      JsonNode header = header(weights);
      assertThat(header.get("__metadata__").get("format").asText()).isEqualTo("pt");
      int tensors = 0;
      long dataBytes = 0;
      for (Iterator<String> names = header.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (name.equals("__metadata__")) {
          continue;
        }
        tensors++;
        JsonNode info = header.get(name);
        assertThat(info.get("dtype").asText()).isEqualTo(spec.dtype().name());
        String kind = name.replaceAll(".*\\.(\\w+_proj)\\.lora_[AB]\\.weight$", "$1");
        ModelShape.Module module = ModelShape.TINY.module(kind);
        long[] expected =
            name.endsWith("lora_A.weight")
                ? new long[] {spec.rank(), module.in()}
                : new long[] {module.out(), spec.rank()};
        assertThat(
                new long[] {info.get("shape").get(0).asLong(), info.get("shape").get(1).asLong()})
            .as(name)
            .containsExactly(expected);
        assertThat(name).startsWith("base_model.model.model.layers.");
        dataBytes +=
            info.get("data_offsets").get(1).asLong() - info.get("data_offsets").get(0).asLong();
      }
      assertThat(tensors).isEqualTo(2 * spec.layerCount());
      assertThat(dataBytes).isEqualTo(spec.tensorBytes());
      long onDisk;
      try (Stream<Path> files = Files.list(dir)) {
        onDisk = files.mapToLong(f -> f.toFile().length()).sum();
      }
      assertThat(summary.adapters().get(i).bytes()).isEqualTo(onDisk);
      assertThat(summary.adapters().get(i).layers()).isEqualTo(spec.layerCount());
    }
    try (Stream<Path> all = Files.walk(temp.resolve("fleet"))) {
      assertThat(all.filter(p -> p.getFileName().toString().startsWith("."))).isEmpty();
    }
  }

  @Test
  void sameOptionsGiveByteIdenticalFleets() throws IOException {
    generator(4, 0, 7).generate(temp.resolve("a").toString());
    generator(4, 0, 7).generate(temp.resolve("b").toString());
    List<Path> files;
    try (Stream<Path> walk = Files.walk(temp.resolve("a"))) {
      files = walk.filter(Files::isRegularFile).toList();
    }
    assertThat(files).hasSize(12);
    for (Path a : files) {
      Path b = temp.resolve("b").resolve(temp.resolve("a").relativize(a));
      assertThat(Files.readAllBytes(b)).as(b.toString()).isEqualTo(Files.readAllBytes(a));
    }
  }

  @Test
  void adapterDependsOnSeedAndIndexOnlyNotOnFleetSize() {
    assertThat(generator(30, 0, 5).plan().subList(0, 10)).isEqualTo(generator(10, 0, 5).plan());
    assertThat(generator(10, 0, 6).plan()).isNotEqualTo(generator(10, 0, 5).plan());
  }

  @Test
  void defaultFleetMixesRanksDtypesTargetsLayersAndSizes() {
    List<AdapterSpec> specs =
        new FleetGenerator(
                new LocalFileIO(), new FleetGenerator.Options(200, ModelShape.LLAMA2_7B, 0, 1))
            .plan();
    Set<Integer> ranks = new HashSet<>();
    Set<DType> dtypes = new HashSet<>();
    Set<Integer> targetCounts = new HashSet<>();
    boolean someLayerSubset = false;
    for (AdapterSpec s : specs) {
      ranks.add(s.rank());
      dtypes.add(s.dtype());
      targetCounts.add(s.targets().size());
      someLayerSubset |= !s.allLayers();
    }
    assertThat(ranks).containsExactlyInAnyOrder(8, 16, 32, 64, 128, 256);
    assertThat(dtypes).containsExactlyInAnyOrder(DType.F16, DType.BF16, DType.F32);
    assertThat(targetCounts).containsExactlyInAnyOrder(2, 4, 7);
    assertThat(someLayerSubset).isTrue();
    long[] sizes = specs.stream().mapToLong(AdapterSpec::tensorBytes).sorted().toArray();
    long median = sizes[sizes.length / 2];
    assertThat(sizes[sizes.length - 1]).isGreaterThan(20 * median);
  }

  @Test
  void forcedRankAppliesToEveryAdapter() {
    assertThat(generator(40, 16, 3).plan()).allMatch(s -> s.rank() == 16);
  }

  @Test
  void loraBHasDecayingColumnNormsAndLoraAHasKaimingBounds() {
    int out = 4096;
    int r = 16;
    double decay = 1.0;
    float[] b = FleetGenerator.loraB(new SplittableRandom(1), out, r, decay);
    double[] norms = new double[r];
    for (int i = 0; i < out; i++) {
      for (int j = 0; j < r; j++) {
        norms[j] += b[i * r + j] * (double) b[i * r + j];
      }
    }
    double s0 = Math.sqrt(norms[0]);
    for (int j = 0; j < r; j++) {
      double expected = s0 * Math.pow(j + 1, -decay);
      assertThat(Math.sqrt(norms[j])).as("column %d", j).isBetween(0.9 * expected, 1.1 * expected);
    }
    int in = 1000;
    float[] a = FleetGenerator.loraA(new SplittableRandom(2), 3, in);
    double bound = 1 / Math.sqrt(in);
    double sumSquares = 0;
    for (float x : a) {
      assertThat((double) Math.abs(x)).isLessThanOrEqualTo(bound);
      sumSquares += x * (double) x;
    }
    assertThat(sumSquares / a.length).isBetween(0.9 * bound * bound / 3, 1.1 * bound * bound / 3);
  }

  @Test
  void gaussianHasUnitVariance() {
    SplittableRandom random = new SplittableRandom(9);
    double sum = 0;
    double sumSquares = 0;
    int n = 200_000;
    for (int i = 0; i < n; i++) {
      double g = FleetGenerator.gaussian(random.nextLong());
      sum += g;
      sumSquares += g * g;
    }
    assertThat(sum / n).isBetween(-0.01, 0.01);
    assertThat(sumSquares / n).isBetween(0.98, 1.02);
  }

  @Test
  void refusesANonEmptyRootAndUnknownShapes() throws IOException {
    Files.writeString(temp.resolve("keep.txt"), "x");
    assertThatThrownBy(() -> generator(1, 0, 1).generate(temp.toString()))
        .isInstanceOf(LoraQuantException.class)
        .hasMessageContaining("not empty");
    assertThatThrownBy(() -> ModelShape.named("gpt-5"))
        .hasMessageContaining("gpt-5")
        .hasMessageContaining("llama2-7b, mistral-7b, tiny");
  }

  @Test
  void mistralUsesGroupedQueryAttentionWidths() {
    assertThat(ModelShape.named("Mistral-7B").module("k_proj"))
        .isEqualTo(new ModelShape.Module("k_proj", "self_attn", 4096, 1024));
    assertThat(ModelShape.MISTRAL_7B.module("down_proj").in()).isEqualTo(14336);
    assertThat(ModelShape.LLAMA2_7B.module("gate_proj").out()).isEqualTo(11008);
  }

  private static JsonNode header(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    long length = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertThat(length % 8).isZero();
    assertThat(8 + length).isLessThanOrEqualTo(bytes.length);
    return JSON.readTree(
        new String(bytes, 8, (int) length, java.nio.charset.StandardCharsets.UTF_8));
  }
}
