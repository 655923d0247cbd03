package org.loraquant.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.io.ListedFile;

/** The run's decisions from listings alone: no Spark, no Hadoop, no file system. */
class RunPlannerTest {
  private static final String IN = "s3a://bucket/fleet";
  private static final RunPlanner.Root INPUT = new RunPlanner.Root("s3a://bucket/fleet/", IN);
  private static final long HOUR = 3_600_000L;

  private final List<ListedFile> listing = new ArrayList<>();

  private void file(String relative, long size, String etag) {
    listing.add(new ListedFile(IN + "/" + relative, size, 1_000L, etag));
  }

  private void adapter(String folder) {
    file(folder + "/adapter_config.json", 20, "c-" + folder);
    file(folder + "/adapter_model.safetensors", 100, "w-" + folder);
  }

  @Test
  void adaptersAreFoldersWithAConfigAtAnyDepthHiddenPathsLeftOut() {
    adapter("a");
    adapter("tenant/b");
    adapter("tenant/b/checkpoint-2/c");
    file("tenant/b/README.md", 5, null);
    file("tenant/notes/readme.txt", 5, null);
    adapter(".staging/d");
    adapter("_temporary/0/e");
    file("a/.adapter_model.safetensors.crc", 8, null);
    listing.add(new ListedFile("s3a://bucket/other/x/adapter_config.json", 1, 1, null));

    List<DiscoveredAdapter> adapters = RunPlanner.adapters(INPUT, listing);

    assertThat(adapters).extracting(DiscoveredAdapter::relativePath)
        .containsExactly("a", "tenant/b", "tenant/b/checkpoint-2/c");
    DiscoveredAdapter b = adapters.get(1);
    assertThat(b.location()).isEqualTo(IN + "/tenant/b");
    assertThat(b.files()).extracting(DiscoveredAdapter.AdapterFile::name)
        .containsExactly("README.md", "adapter_config.json", "adapter_model.safetensors");
    assertThat(b.file("adapter_model.safetensors").etag()).isEqualTo("w-tenant/b");
    assertThat(adapters.get(0).files()).hasSize(2);
    assertThat(RunPlanner.entersInputFolder("tenant/b")).isTrue();
    assertThat(RunPlanner.entersInputFolder("tenant/_temporary")).isFalse();
  }

  @Test
  void theRootCanBeTheAdapterButNotAFile() {
    listing.add(new ListedFile(IN + "/adapter_config.json", 2, 1, null));
    DiscoveredAdapter root = RunPlanner.adapters(INPUT, listing).get(0);
    assertThat(root.relativePath()).isEmpty();
    assertThat(root.location()).isEqualTo(IN);

    List<ListedFile> aFile = List.of(new ListedFile(IN, 2, 1, null));
    assertThatThrownBy(() -> RunPlanner.adapters(INPUT, aFile))
        .isInstanceOf(LoraQuantException.class)
        .hasMessage("Input s3a://bucket/fleet/ is a file; expected a folder of adapters");
  }

  @Test
  void fingerprintCoversConfigAndWeightsWithTheirEtagsOnly() {
    adapter("a");
    String before = RunPlanner.adapters(INPUT, listing).get(0).fingerprint();
    file("a/README.md", 7, "r");
    assertThat(RunPlanner.adapters(INPUT, listing).get(0).fingerprint()).isEqualTo(before);
    listing.set(1, new ListedFile(IN + "/a/adapter_model.safetensors", 100, 1_000L, "w-new"));
    assertThat(RunPlanner.adapters(INPUT, listing).get(0).fingerprint()).isNotEqualTo(before);
  }

  @Test
  void aChangeDuringTheRunNamesTheFileAndWhatChanged() {
    adapter("a");
    DiscoveredAdapter found = RunPlanner.adapters(INPUT, listing).get(0);
    List<DiscoveredAdapter.AdapterFile> same = new ArrayList<>(found.files());
    same.add(new DiscoveredAdapter.AdapterFile("_SUCCESS", 0, 5, null));
    same.add(new DiscoveredAdapter.AdapterFile("notes.txt", 3, 5, null));
    assertThat(RunPlanner.changeDuringRun(found, RunPlanner.relisted(found, same))).isNull();

    List<DiscoveredAdapter.AdapterFile> rewritten = new ArrayList<>(found.files());
    rewritten.set(1, new DiscoveredAdapter.AdapterFile("adapter_model.safetensors", 90, 0, "w2"));
    assertThat(RunPlanner.changeDuringRun(found, RunPlanner.relisted(found, rewritten)))
        .isEqualTo("adapter_model.safetensors was rewritten (was 100 bytes modified"
            + " 1970-01-01T00:00:01Z etag w-a, now 90 bytes modified 1970-01-01T00:00:00Z etag w2)");
    List<DiscoveredAdapter.AdapterFile> added = new ArrayList<>(found.files());
    added.add(new DiscoveredAdapter.AdapterFile("extra.safetensors", 1, 1, null));
    assertThat(RunPlanner.changeDuringRun(found, RunPlanner.relisted(found, added)))
        .isEqualTo("extra.safetensors appeared");
    assertThat(RunPlanner.changeDuringRun(found, RunPlanner.relisted(found, List.of())))
        .isEqualTo("adapter_config.json was removed");
  }

  @Test
  void outputsAreFoldersWithAManifestAndStaleStagingIsNamedForDeletion() {
    String out = "s3a://bucket/out";
    long now = 100 * HOUR;
    String stale = ".a.loraquant-staging-" + (now - 13 * HOUR) + "-" + UUID.randomUUID();
    String young = ".b.loraquant-staging-" + (now - HOUR) + "-" + UUID.randomUUID();
    List<ListedFile> outputs = List.of(
        new ListedFile(out + "/a/loraquant_manifest.json", 10, 1, null),
        new ListedFile(out + "/a/adapter_model.safetensors", 30, 1, null),
        new ListedFile(out + "/a/adapter_config.json", 5, 1, null),
        new ListedFile(out + "/a/.crc", 99, 1, null),
        new ListedFile(out + "/b/adapter_model.safetensors", 30, 1, null), // interrupted
        new ListedFile(out + "/_root/loraquant_manifest.json", 4, 1, null),
        new ListedFile(out + "/loraquant_manifest.json", 4, 1, null), // nobody's
        new ListedFile(out + "/" + stale + "/adapter_model.safetensors", 4, 1, null),
        new ListedFile(out + "/" + young + "/adapter_model.safetensors", 4, 1, null));

    RunPlanner.OutputListing listed = RunPlanner.outputs(out, outputs, now);

    assertThat(listed.complete()).containsOnlyKeys("a", "");
    assertThat(listed.complete().get("a"))
        .isEqualTo(new ExistingOutput("a", out + "/a", 45, 15)); // config + manifest: 15
    assertThat(listed.complete().get("").location()).isEqualTo(out + "/_root");
    assertThat(listed.staleStaging()).containsExactly(out + "/" + stale);
  }

  @Test
  void theJobsOwnFoldersInsideTheInputAreExcludedAndOverlapsRefused() {
    adapter("a");
    adapter("out/a"); // an earlier run's output keeps the adapter's config
    List<DiscoveredAdapter> found = RunPlanner.adapters(INPUT, listing);
    List<RunPlanner.Root> inside = List.of(
        new RunPlanner.Root("out", IN + "/out"), new RunPlanner.Root("stats", "s3a://bucket/s"));
    assertThat(RunPlanner.withoutJobFolders(INPUT, inside, found))
        .extracting(DiscoveredAdapter::relativePath).containsExactly("a");

    List<RunPlanner.Root> around = List.of(new RunPlanner.Root("s3a://bucket/", "s3a://bucket"));
    assertThatThrownBy(() -> RunPlanner.withoutJobFolders(INPUT, around, found))
        .isInstanceOf(RunPlanner.RootsOverlapException.class)
        .hasMessageStartingWith("--input s3a://bucket/fleet/ is the same as, or inside, s3a://bucket/");
    List<RunPlanner.Root> inAnAdapter = List.of(new RunPlanner.Root("o", IN + "/a/compressed"));
    assertThatThrownBy(() -> RunPlanner.withoutJobFolders(INPUT, inAnAdapter, found))
        .hasMessageStartingWith("o is inside the folder of the input adapter " + IN + "/a;");
  }

  @Test
  void upToDateOnlyWhenARunCommittedThisInputWithTheseSettings() {
    adapter("a");
    adapter("b");
    adapter("c");
    adapter("d");
    List<DiscoveredAdapter> inputs = RunPlanner.adapters(INPUT, listing);
    String fa = inputs.get(0).fingerprint();
    Map<String, Summary> outputs = Map.of(
        "a", new Summary(true, true, fa, "s1"),
        "b", new Summary(true, true, fa, "s1"), // b's output came from a's input
        "c", new Summary(true, false, inputs.get(2).fingerprint(), "s1"), // by `compress`
        "d", new Summary(false, true, inputs.get(3).fingerprint(), "s1"));

    RunPlanner.Decisions decisions = RunPlanner.decide(inputs, outputs, "s1", false);
    assertThat(decisions.upToDate()).containsExactly("a");
    assertThat(decisions.toCompress()).containsOnlyKeys("b", "c", "d");
    assertThat(RunPlanner.decide(inputs, outputs, "s2", false).upToDate()).isEmpty();
    assertThat(RunPlanner.decide(inputs, outputs, "s1", true).toCompress()).hasSize(4);

    Map<String, ExistingOutput> existing =
        Map.of(
            "a", new ExistingOutput("a", "x/a", 1, 0), "gone", new ExistingOutput("gone", "x/g", 1, 0));
    assertThat(RunPlanner.manifestsToRead(inputs, existing))
        .extracting(ExistingOutput::relativePath).containsExactly("a");
  }

  /**
   * Small adapters are chosen by their listed weights file alone (no read), each as one entry of
   * that length; 0 chooses none, and a folder without listed weights is left to be opened (and
   * refused) as usual.
   */
  @Test
  void smallAdaptersAreReadWholeByTheirListedWeightsLength() {
    file("tiny/adapter_config.json", 20, null);
    file("tiny/adapter_model.safetensors", 150_000, null);
    file("edge/adapter_config.json", 20, null);
    file("edge/adapter_model.safetensors", 1L << 20, null);
    file("over/adapter_config.json", 20, null);
    file("over/adapter_model.safetensors", (1L << 20) + 1, null);
    file("uploading/adapter_config.json", 20, null);
    Map<String, DiscoveredAdapter> toCompress = new java.util.LinkedHashMap<>();
    RunPlanner.adapters(INPUT, listing).forEach(a -> toCompress.put(a.relativePath(), a));

    List<LayerWork> whole = RunPlanner.readWhole(toCompress, 1L << 20);

    assertThat(whole)
        .containsExactly(
            LayerWork.wholeAdapter("edge", 1L << 20), LayerWork.wholeAdapter("tiny", 150_000));
    assertThat(whole).allMatch(LayerWork::isWholeAdapter);
    assertThat(new LayerWork("tiny", "layers.0.q_proj", 10).isWholeAdapter()).isFalse();
    assertThat(RunPlanner.readWhole(toCompress, 0)).isEmpty();
  }

  private record Summary(boolean readable, boolean committedByARun, String inputFingerprint,
      String settingsFingerprint) implements RunPlanner.ManifestSummary {}
}
