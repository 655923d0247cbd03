package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.loraquant.cli.CommandRun.Q;
import static org.loraquant.cli.CommandRun.V;
import static org.loraquant.cli.CommandRun.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.SharedAdapters;
import org.loraquant.testing.SyntheticAdapter;
import org.loraquant.testing.TestPaths;

class InspectCommandTest {

  private static String adapter(String name) {
    return SharedAdapters.folder().resolve(name).toString();
  }

  /** A compressed golden folder (lib/src/test/resources/golden/v1/NAME/compressed). */
  private static String golden(String name) {
    return TestPaths.jobsModule().resolveSibling("lib")
        .resolve("src/test/resources/golden/v1").resolve(name).resolve("compressed").toString();
  }

  @Test
  void compressedAdapterShowsVersionSettingsLayersPassThroughAndTotals() {
    CommandRun run = run("inspect", golden("conv-passthrough-b3-g16-search"));
    assertThat(run.err()).isEmpty();
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).containsExactly(
        "compressed format=loraquant format_version=1",
        "settings mode=paper rho=0.9 bits_high=3 split_rule=reference refinement=search group_size=16"
            + " fingerprint=loraquant-codec/1;rho=0.9;split=REFERENCE;bits_high=3;group=16;refine=SEARCH",
        "input fingerprint=null",
        "layer unet.down.0.conv m=6 n=27 rank=4 k=4 h=1 widths=[3,1,1,1] params=132 bytes=111"
            + " effective_bits=888 bits_per_param=6.7272727272727275 rel_error=0.44834218149483646",
        "layer unet.mid.attn.to_out.0 m=17 n=33 rank=8 k=8 h=2 widths=[3,3,1,1,1,1,1,1] params=400 bytes=222"
            + " effective_bits=1776 bits_per_param=4.44 rel_error=0.3141169003107706",
        "pass_through classifier.bias shape=[2] dtype=F16 bytes=4",
        "pass_through classifier.weight shape=[2,17] dtype=F32 bytes=136",
        "totals layers=2 params=532 bytes=333 effective_bits=2664 bits_per_param=5.007518796992481"
            + " pass_through_tensors=2 pass_through_bytes=140 file_bytes=3489");
  }

  @Test
  void compressedLayerWithFewerComponentsThanItsRankListsOnlyTheKeptOnes() {
    CommandRun run = run("inspect", golden("linear-b2-g8"));
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).contains(
        "layer base_model.model.layers.0.self_attn.v_proj m=3 n=10 rank=6 k=3 h=2 widths=[2,2,1] params=78"
            + " bytes=90 effective_bits=720 bits_per_param=9.23076923076923 rel_error=0.3440895257894563",
        "layer base_model.model.layers.1.self_attn.k_proj m=9 n=7 rank=2 k=2 h=1 widths=[2,1] params=32"
            + " bytes=79 effective_bits=632 bits_per_param=19.75 rel_error=0.0");
  }

  @Test
  void compressedAdapterJsonIsOneDocumentWithALayersArray() {
    CommandRun run = run("inspect", golden("one-bit-g16"), "--json");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).containsExactly(
        "{\"format\":\"loraquant\",\"format_version\":1,\"settings\":{\"mode\":\"paper\",\"rho\":0.8,"
            + "\"bits_high\":1,\"split_rule\":\"prefix\",\"refinement\":\"none\",\"group_size\":16,"
            + "\"fingerprint\":\"loraquant-codec/1;rho=0.8;split=PREFIX;bits_high=1;group=16;refine=NONE\"},"
            + "\"input_fingerprint\":null,"
            + "\"layers\":[{\"module\":\"model.layers.0.mlp.down_proj\",\"m\":24,\"n\":18,\"rank\":3,\"k\":3,"
            + "\"h\":1,\"widths\":[1,1,1],\"params\":126,\"bytes\":97,\"effective_bits\":776,"
            + "\"bits_per_param\":6.158730158730159,\"rel_error\":0.7494902500332669}],"
            + "\"pass_through\":[],"
            + "\"totals\":{\"layers\":1,\"params\":126,\"bytes\":97,\"effective_bits\":776,"
            + "\"bits_per_param\":6.158730158730159,\"pass_through_tensors\":0,\"pass_through_bytes\":0,"
            + "\"file_bytes\":1521}}");
  }

  @Test
  void compressedJsonCarriesTheTextLinesFields() throws Exception {
    String folder = golden("conv-passthrough-b3-g16-search");
    CommandRun run = run("inspect", folder, "--json");
    assertThat(run.out()).hasSize(1);
    JsonNode doc = new ObjectMapper().readTree(run.out().get(0));
    assertThat(doc.get("layers")).hasSize(2);
    assertThat(doc.get("layers").get(1).toString()).isEqualTo(
        "{\"module\":\"unet.mid.attn.to_out.0\",\"m\":17,\"n\":33,\"rank\":8,\"k\":8,\"h\":2,"
            + "\"widths\":[3,3,1,1,1,1,1,1],\"params\":400,\"bytes\":222,\"effective_bits\":1776,"
            + "\"bits_per_param\":4.44,\"rel_error\":0.3141169003107706}");
    assertThat(doc.get("pass_through").get(1).toString()).isEqualTo(
        "{\"tensor\":\"classifier.weight\",\"shape\":[2,17],\"dtype\":\"F32\",\"bytes\":136}");
    assertThat(doc.get("totals").get("file_bytes").asLong())
        .isEqualTo(Files.size(Path.of(folder, "loraquant_model.safetensors")));
  }

  @Test
  void compressedModelFileIsInspectedAsItsFolder() {
    String folder = golden("linear-b2-g8");
    CommandRun viaFile = run("inspect", folder + "/loraquant_model.safetensors");
    assertThat(viaFile.exitCode()).isZero();
    assertThat(viaFile.out()).isEqualTo(run("inspect", folder).out()).hasSize(3 + 3 + 1);
  }

  @Test
  void truncatedCompressedFileIsRefusedInOneLine(@TempDir Path tmp) throws Exception {
    Path copy = copyOf(golden("linear-b2-g8"), tmp);
    Path model = copy.resolve("loraquant_model.safetensors");
    try (FileChannel f = FileChannel.open(model, StandardOpenOption.WRITE)) {
      f.truncate(5000);
    }
    CommandRun run = run("inspect", copy.toString());
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).containsExactly("loraquant inspect: " + model
        + ": file is 5000 bytes but declares a header of 5288 bytes after the 8-byte length (truncated?)");
  }

  @Test
  void compressedFolderWithoutItsManifestIsRefusedAsIncomplete(@TempDir Path tmp) throws Exception {
    Path copy = copyOf(golden("linear-b2-g8"), tmp);
    Files.delete(copy.resolve("loraquant_manifest.json"));
    CommandRun run = run("inspect", copy.toString());
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.err()).containsExactly("loraquant inspect: " + copy + "/loraquant_manifest.json: missing: "
        + copy + " is not a complete compressed adapter (written by an interrupted run?); compress again");
  }

  /** A two-layer adapter compressed by the budget mode (format version 2) at 1.2 bits, uniform levels. */
  private static Path budgetModeFolder(Path tmp) throws Exception {
    Path source = new SyntheticAdapter(5, 8)
        .linear(Q, 128, 96, 8, DType.F32, false)
        .linear(V, 96, 160, 8, DType.F16, false)
        .writeTo(tmp.resolve("source"));
    Path out = tmp.resolve("v2");
    CommandRun compress = run("compress", source.toString(), out.toString(), "--budget", "1.2", "--levels", "uniform",
        "--group-size", "32");
    assertThat(compress.err()).isEmpty();
    return out;
  }

  @Test
  void budgetModeFolderShowsModeBudgetLevelsAndTheWidthOfEachComponent(@TempDir Path tmp) throws Exception {
    Path folder = budgetModeFolder(tmp);
    CommandRun run = run("inspect", folder.toString());
    assertThat(run.err()).isEmpty();
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).hasSize(6);
    assertThat(run.out().subList(0, 3)).containsExactly(
        "compressed format=loraquant format_version=2",
        "settings mode=budget budget=1.2 scope=adapter levels=uniform refit=2 group_size=32"
            + " fingerprint=loraquant-budget/1;budget=1.2;scope=adapter;levels=uniform;refit=2;group=32",
        "input fingerprint=null");
    // The widths and kept counts the codec chose are the manifest's stats lines.
    JsonNode manifest = new ObjectMapper().readTree(folder.resolve("loraquant_manifest.json").toFile());
    long[] total = new long[9];
    long kept = 0;
    for (int i = 0; i < 2; i++) {
      JsonNode stats = manifest.get("layers").get(i);
      List<Integer> widths = new ArrayList<>();
      stats.get("bits_per_component").forEach(w -> widths.add(w.asInt()));
      long[] histogram = new long[9];
      widths.forEach(w -> histogram[w]++);
      for (int w = 0; w < 9; w++) {
        total[w] += histogram[w];
      }
      kept += stats.get("components_kept").asLong();
      assertThat(widths).hasSize(8);
      assertThat(histogram[0]).isEqualTo(8 - stats.get("components_kept").asLong());
      assertThat(run.out().get(3 + i)).isEqualTo("layer " + stats.get("module").asText()
          + " m=" + stats.get("m") + " n=" + stats.get("n") + " rank=8 k=8 kept=" + stats.get("components_kept")
          + " levels=uniform widths=" + widths.toString().replace(" ", "")
          + " width_histogram=" + Arrays.toString(histogram).replace(" ", "")
          + " params=" + stats.get("params") + " bytes=" + stats.get("effective_bits").asLong() / 8
          + " effective_bits=" + stats.get("effective_bits")
          + " bits_per_param=" + stats.get("effective_bits").asDouble() / stats.get("params").asDouble()
          + " rel_error=" + stats.get("rel_error"));
    }
    assertThat(run.out().get(5)).startsWith("totals layers=2 components=16 kept=" + kept
        + " width_histogram=" + Arrays.toString(total).replace(" ", "") + " params=" + (8 * (128 + 96) + 8 * (96 + 160)));
    assertThat(kept).isBetween(2L, 15L); // 1.2 bits cannot keep every component, and keeps at least one per layer
  }

  @Test
  void budgetModeJsonCarriesTheTextLinesFields(@TempDir Path tmp) throws Exception {
    Path folder = budgetModeFolder(tmp);
    CommandRun text = run("inspect", folder.toString());
    CommandRun json = run("inspect", folder.toString(), "--json");
    assertThat(json.exitCode()).isZero();
    assertThat(json.out()).hasSize(1);
    JsonNode doc = new ObjectMapper().readTree(json.out().get(0));
    assertThat(doc.get("format_version").asInt()).isEqualTo(2);
    assertThat(doc.get("settings").toString()).isEqualTo("{\"mode\":\"budget\",\"budget\":1.2,\"scope\":\"adapter\","
        + "\"levels\":\"uniform\",\"refit\":2,\"group_size\":32,"
        + "\"fingerprint\":\"loraquant-budget/1;budget=1.2;scope=adapter;levels=uniform;refit=2;group=32\"}");
    JsonNode layer = doc.get("layers").get(0);
    List<String> keys = new ArrayList<>();
    layer.fieldNames().forEachRemaining(keys::add);
    assertThat(keys).containsExactly("module", "m", "n", "rank", "k", "kept", "levels", "widths", "width_histogram",
        "params", "bytes", "effective_bits", "bits_per_param", "rel_error");
    StringBuilder line = new StringBuilder("layer " + layer.get("module").asText());
    for (String key : keys.subList(1, keys.size())) {
      JsonNode v = layer.get(key);
      line.append(' ').append(key).append('=').append(v.isTextual() ? v.asText() : v.toString());
    }
    assertThat(text.out().get(3)).isEqualTo(line.toString());
    assertThat(doc.get("totals").get("components").asInt()).isEqualTo(16);
    assertThat(doc.get("totals").get("width_histogram")).hasSize(9);
  }

  @Test
  void budgetModeFolderWithAFlippedCodeByteIsRefusedNamingTheLayer(@TempDir Path tmp) throws Exception {
    Path folder = budgetModeFolder(tmp);
    Path model = folder.resolve("loraquant_model.safetensors");
    byte[] bytes = Files.readAllBytes(model);
    long headerLength = java.nio.ByteBuffer.wrap(bytes, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
    int codes = 8 + (int) headerLength + header.get(V + ".lq.a.codes").get("data_offsets").get(0).asInt();
    bytes[codes] ^= 0x10;
    Files.write(model, bytes);
    CommandRun run = run("inspect", folder.toString());
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).singleElement().asString().startsWith("loraquant inspect: " + model + ": tensor '"
        + V + ".lq.crc': CRC-32C mismatch (stored ");
  }

  private static Path copyOf(String folder, Path tmp) throws Exception {
    Path copy = tmp.resolve("copy");
    Files.createDirectories(copy);
    try (var files = Files.list(Path.of(folder))) {
      for (Path f : files.toList()) {
        Files.copy(f, copy.resolve(f.getFileName()));
      }
    }
    return copy;
  }

  @Test
  void readsAHadoopUriAsItReadsAPlainPath() {
    String folder = adapter("gpt2-seqcls-r2");
    CommandRun plain = run("inspect", folder, "--json");
    CommandRun uri = run("inspect", Path.of(folder).toUri().toString(), "--json");
    assertThat(uri.exitCode()).isZero();
    assertThat(uri.err()).isEmpty();
    assertThat(uri.out()).isEqualTo(plain.out()).hasSize(14);
  }

  @Test
  void listsModulesThenPassThroughThenTotals() {
    CommandRun run = run("inspect", adapter("gpt2-seqcls-r2"));
    assertThat(run.exitCode()).isZero();
    assertThat(run.err()).isEmpty();
    assertThat(run.out()).hasSize(12 + 1 + 1);
    assertThat(run.out().get(0))
        .isEqualTo(
            "lora base_model.model.transformer.h.0.attn.c_attn m=2304 n=768 rank=2 dtype=F32");
    assertThat(run.out().subList(0, 12)).allSatisfy(l -> assertThat(l).startsWith("lora "));
    assertThat(run.out().get(12))
        .isEqualTo(
            "pass_through base_model.model.score.weight shape=[4,768] dtype=F32 bytes=12288");
    assertThat(run.out().get(13))
        .isEqualTo(
            "totals modules=12 lora_params=73728 pass_through_tensors=1 pass_through_params=3072"
                + " tensor_bytes=307200 file_bytes=310312");
  }

  @Test
  void jsonLinesCarryTheTextLinesFieldsInTheSameOrder() {
    CommandRun run = run("inspect", adapter("gpt2-seqcls-r2"), "--json");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).hasSize(14);
    assertThat(run.out().get(0))
        .isEqualTo(
            "{\"kind\":\"lora\",\"module\":\"base_model.model.transformer.h.0.attn.c_attn\","
                + "\"m\":2304,\"n\":768,\"rank\":2,\"dtype\":\"F32\"}");
    assertThat(run.out().get(12))
        .isEqualTo(
            "{\"kind\":\"pass_through\",\"tensor\":\"base_model.model.score.weight\","
                + "\"shape\":[4,768],\"dtype\":\"F32\",\"bytes\":12288}");
    assertThat(run.out().get(13))
        .isEqualTo(
            "{\"kind\":\"totals\",\"modules\":12,\"lora_params\":73728,"
                + "\"pass_through_tensors\":1,\"pass_through_params\":3072,"
                + "\"tensor_bytes\":307200,\"file_bytes\":310312}");
  }

  @Test
  void jsonIsOneObjectPerLine() throws Exception {
    CommandRun run = run("inspect", adapter("opt-125m-qv-r16-bf16"), "--json");
    assertThat(run.exitCode()).isZero();
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> objects = new ArrayList<>();
    for (String line : run.out()) {
      objects.add(json.readTree(line));
    }
    assertThat(objects).hasSize(25);
    JsonNode first = objects.get(0);
    assertThat(first.get("kind").asText()).isEqualTo("lora");
    assertThat(first.get("module").asText())
        .isEqualTo("base_model.model.model.decoder.layers.0.self_attn.q_proj");
    assertThat(first.get("m").asInt()).isEqualTo(768);
    assertThat(first.get("n").asInt()).isEqualTo(768);
    assertThat(first.get("rank").asInt()).isEqualTo(16);
    assertThat(first.get("dtype").asText()).isEqualTo("BF16");
    JsonNode totals = objects.get(24);
    assertThat(totals.get("kind").asText()).isEqualTo("totals");
    assertThat(totals.get("modules").asInt()).isEqualTo(24);
    assertThat(totals.get("lora_params").asLong()).isEqualTo(589824);
    assertThat(totals.get("pass_through_tensors").asInt()).isZero();
    assertThat(totals.get("file_bytes").asLong()).isEqualTo(1186328);
  }

  @Test
  void pTuningAdapterIsRefusedInOneLine() {
    String dir = adapter("NEGATIVE-ptuning-internlm2");
    CommandRun run = run("inspect", dir);
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.out()).isEmpty();
    assertThat(run.err())
        .containsExactly(
            "loraquant inspect: "
                + dir
                + "/adapter_config.json: peft_type is P_TUNING, but only LORA adapters are"
                + " supported");
  }

  @Test
  void stacktraceFlagAddsTheTrace() {
    CommandRun run = run("inspect", adapter("NEGATIVE-ptuning-internlm2"), "--stacktrace");
    assertThat(run.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(run.err()).hasSizeGreaterThan(1);
    assertThat(run.err().get(1)).startsWith("org.loraquant.errors.InvalidAdapterException: ");
  }

  @Test
  void missingPathIsAUsageError(@TempDir Path tmp) {
    CommandRun none = run("inspect");
    assertThat(none.exitCode()).isEqualTo(Main.EXIT_USAGE);
    assertThat(none.err()).containsExactly("loraquant inspect: missing PATH (an adapter folder)");
    CommandRun unknown = run("inspect", tmp.toString(), "--yaml");
    assertThat(unknown.exitCode()).isEqualTo(Main.EXIT_USAGE);
    assertThat(unknown.err()).containsExactly("loraquant inspect: unknown option --yaml");
  }

  @Test
  void isListedInTheUsage() {
    CommandRun help = run("--help");
    assertThat(help.out()).anySatisfy(l -> assertThat(l).startsWith("  inspect "));
  }
}
