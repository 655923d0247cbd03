package org.loraquant.plan;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.FileIO;
import org.loraquant.io.FolderPaths;
import org.loraquant.io.ListedFile;
import org.loraquant.peft.AdapterConfig;
import org.loraquant.peft.PeftAdapterReader;

/**
 * What a run decides before it reads a byte, and the one check it makes after: which folders of
 * the input are adapters, their fingerprints, which outputs exist, which adapters are up to date
 * and which to compress, which folders are the job's own (excluded), and whether an adapter
 * changed while it was being read. Everything is decided from listings ({@link
 * FileIO#listRecursive}) and manifest summaries, so it is tested without Spark or Hadoop; the
 * engine only lists, reads manifests and wires the stages. {@link LayerPlanner} is the second
 * half: how the adapters to compress are spread over tasks.
 *
 * <p>Adapters: every folder, at any depth, that holds an {@value AdapterConfig#FILE_NAME}; an
 * adapter's files are the regular files directly in its folder (subfolders may hold other
 * adapters). Paths with a component starting with '.' or '_' are skipped, as Hadoop and Spark do:
 * they are temporary or bookkeeping files ({@code _temporary}, {@code .crc}, the hidden folders
 * that writers rename into place).
 */
public final class RunPlanner {
  /** Bumped when the fingerprint's definition changes, so old outputs are recompressed. */
  static final String FINGERPRINT_VERSION = "loraquant-input-fingerprint-v1";

  private static final Comparator<DiscoveredAdapter.AdapterFile> BY_NAME =
      Comparator.comparing(DiscoveredAdapter.AdapterFile::name);

  private RunPlanner() {}

  /**
   * A root as the user gave it (for messages) and qualified in its store's syntax, without a
   * trailing '/' (for comparisons and child paths).
   */
  public record Root(String given, String qualified) {}

  // ---- Input: adapters and their fingerprints ----

  /** Whether a listing of the input needs to enter this folder (relative path): hidden ones not. */
  public static boolean entersInputFolder(String relativeFolder) {
    return !isHidden(relativeFolder);
  }

  /**
   * The adapters in a listing of the input {@code root}, sorted by relative path.
   *
   * @throws LoraQuantException when the root is a file, not a folder
   */
  public static List<DiscoveredAdapter> adapters(Root root, List<ListedFile> listing) {
    String prefix = root.qualified() + "/";
    Map<String, List<DiscoveredAdapter.AdapterFile>> filesByFolder = new TreeMap<>();
    for (ListedFile listed : listing) {
      if (listed.path().equals(root.qualified())) {
        throw new LoraQuantException(
            "Input " + root.given() + " is a file; expected a folder of adapters");
      }
      if (!listed.path().startsWith(prefix)) {
        continue; // not under the root: not ours to touch
      }
      String relative = listed.path().substring(prefix.length());
      if (isHidden(relative)) {
        continue;
      }
      int slash = relative.lastIndexOf('/');
      String folder = slash < 0 ? "" : relative.substring(0, slash);
      filesByFolder
          .computeIfAbsent(folder, f -> new ArrayList<>())
          .add(fileOf(relative.substring(slash + 1), listed));
    }
    List<DiscoveredAdapter> adapters = new ArrayList<>();
    for (Map.Entry<String, List<DiscoveredAdapter.AdapterFile>> e : filesByFolder.entrySet()) {
      List<DiscoveredAdapter.AdapterFile> files = e.getValue();
      if (files.stream().noneMatch(f -> f.name().equals(AdapterConfig.FILE_NAME))) {
        continue;
      }
      files.sort(BY_NAME);
      String folder = e.getKey();
      adapters.add(
          new DiscoveredAdapter(folder, childLocation(root.qualified(), folder), files,
              fingerprint(files)));
    }
    return adapters;
  }

  /**
   * The adapter as a second listing of its folder sees it ({@code filesNow}: the regular files
   * directly in it, hidden ones included or not), with its fingerprint then.
   */
  public static DiscoveredAdapter relisted(
      DiscoveredAdapter adapter, List<DiscoveredAdapter.AdapterFile> filesNow) {
    List<DiscoveredAdapter.AdapterFile> files = new ArrayList<>();
    for (DiscoveredAdapter.AdapterFile f : filesNow) {
      if (!isHidden(f.name())) {
        files.add(f);
      }
    }
    files.sort(BY_NAME);
    return new DiscoveredAdapter(
        adapter.relativePath(), adapter.location(), files, fingerprint(files));
  }

  /**
   * SHA-256 (hex) over the name, size, modification time and, where the store has one, the etag of
   * each file the compressed output is derived from: {@value AdapterConfig#FILE_NAME} and every
   * {@code *.safetensors} in the folder. Everything comes from the listing, so it costs no request
   * and reads no byte. A re-upload of identical bytes changes the time and so the fingerprint (a
   * needless recompression, never a stale output); an in-place change that keeps size and time
   * would go unnoticed on stores without etags, which uploads do not do. Other files (README.md,
   * training logs) do not count.
   */
  public static String fingerprint(List<DiscoveredAdapter.AdapterFile> files) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    StringBuilder text = new StringBuilder(FINGERPRINT_VERSION).append('\n');
    files.stream()
        .filter(f -> coveredByFingerprint(f.name()))
        .sorted(BY_NAME)
        .forEach(
            f ->
                text.append(f.name())
                    .append('\t')
                    .append(f.size())
                    .append('\t')
                    .append(f.modificationTime())
                    .append('\t')
                    .append(f.etag() == null ? "" : f.etag())
                    .append('\n'));
    return HexFormat.of().formatHex(sha.digest(text.toString().getBytes(StandardCharsets.UTF_8)));
  }

  /** Whether the fingerprint covers a file of this name: the config and the safetensors files. */
  public static boolean coveredByFingerprint(String name) {
    return name.equals(AdapterConfig.FILE_NAME) || name.endsWith(".safetensors");
  }

  /** Whether any component of a '/'-separated relative path starts with '.' or '_'. */
  public static boolean isHidden(String relativePath) {
    for (String part : relativePath.split("/")) {
      if (part.startsWith(".") || part.startsWith("_")) {
        return true;
      }
    }
    return false;
  }

  /**
   * How the files the fingerprint covers differ between two listings of one adapter, naming the
   * first such file (in name order) and what changed; null when the fingerprints are equal. A run
   * that finds a change does not commit what it read: the adapter changed during the run.
   */
  public static String changeDuringRun(DiscoveredAdapter before, DiscoveredAdapter after) {
    if (before.fingerprint().equals(after.fingerprint())) {
      return null;
    }
    TreeMap<String, DiscoveredAdapter.AdapterFile> was = fingerprinted(before);
    TreeMap<String, DiscoveredAdapter.AdapterFile> is = fingerprinted(after);
    TreeSet<String> names = new TreeSet<>(was.keySet());
    names.addAll(is.keySet());
    for (String name : names) {
      DiscoveredAdapter.AdapterFile old = was.get(name);
      DiscoveredAdapter.AdapterFile now = is.get(name);
      if (old == null) {
        return name + " appeared";
      }
      if (now == null) {
        return name + " was removed";
      }
      if (!old.equals(now)) {
        return name + " was rewritten (was " + old.describe() + ", now " + now.describe() + ")";
      }
    }
    return "the fingerprint changed"; // only if its definition did, which a run cannot see
  }

  private static TreeMap<String, DiscoveredAdapter.AdapterFile> fingerprinted(
      DiscoveredAdapter adapter) {
    TreeMap<String, DiscoveredAdapter.AdapterFile> files = new TreeMap<>();
    for (DiscoveredAdapter.AdapterFile f : adapter.files()) {
      if (coveredByFingerprint(f.name())) {
        files.put(f.name(), f);
      }
    }
    return files;
  }

  private static DiscoveredAdapter.AdapterFile fileOf(String name, ListedFile listed) {
    return new DiscoveredAdapter.AdapterFile(
        name, listed.size(), listed.modificationTime(), listed.etag());
  }

  /**
   * The location of {@code folder} (relative, '/'-separated, "" for the root itself) under {@code
   * root}, by string concatenation: parsing it as a URI would read a first component such as
   * {@code run:2} as a scheme and fail the whole run.
   */
  public static String childLocation(String root, String folder) {
    if (folder.isEmpty()) {
      return root;
    }
    return root.endsWith("/") ? root + folder : root + "/" + folder;
  }

  // ---- Output: what exists, what a killed writer left ----

  /**
   * The complete outputs under the output root, by the adapter they belong to (see {@link
   * OutputLayout}), and the stale staging folders a killed writer left, to delete.
   *
   * @param complete folders that hold {@value CompressedFormat#MANIFEST_FILE}; a folder without
   *     one is an interrupted write and counts as absent
   * @param staleStaging locations of our staging folders older than {@link
   *     FolderPaths#STALE_STAGING_AGE}: the writer itself does not list its parent folder, which
   *     here would be the whole output root once per adapter
   */
  public record OutputListing(Map<String, ExistingOutput> complete, List<String> staleStaging) {}

  /** Reads a listing of the output {@code root}; an empty listing for a root not made yet. */
  public static OutputListing outputs(String root, List<ListedFile> listing, long nowMillis) {
    String prefix = root + "/";
    Map<String, Long> bytesByFolder = new HashMap<>();
    Map<String, Long> fixedBytesByFolder = new HashMap<>();
    Set<String> complete = new HashSet<>();
    Set<String> staleStaging = new TreeSet<>();
    for (ListedFile listed : listing) {
      if (!listed.path().startsWith(prefix)) {
        continue;
      }
      String relative = listed.path().substring(prefix.length());
      String stale = staleStagingFolder(relative, nowMillis);
      if (stale != null) {
        staleStaging.add(stale);
        continue;
      }
      int slash = relative.lastIndexOf('/');
      String folder = OutputLayout.adapterOf(slash < 0 ? "" : relative.substring(0, slash));
      String name = relative.substring(slash + 1);
      if (folder == null || isHidden(name)) {
        continue;
      }
      bytesByFolder.merge(folder, listed.size(), Long::sum);
      if (name.equals(CompressedFormat.CONFIG_FILE) || name.equals(CompressedFormat.MANIFEST_FILE)) {
        fixedBytesByFolder.merge(folder, listed.size(), Long::sum);
      }
      if (name.equals(CompressedFormat.MANIFEST_FILE)) {
        complete.add(folder);
      }
    }
    Map<String, ExistingOutput> outputs = new TreeMap<>();
    for (String folder : complete) {
      String location = childLocation(root, OutputLayout.folderOf(folder));
      outputs.put(
          folder,
          new ExistingOutput(
              folder,
              location,
              bytesByFolder.get(folder),
              fixedBytesByFolder.getOrDefault(folder, 0L)));
    }
    List<String> stale = new ArrayList<>();
    for (String folder : staleStaging) {
      stale.add(childLocation(root, folder));
    }
    return new OutputListing(outputs, stale);
  }

  /**
   * The staging folder of ours, older than {@link FolderPaths#STALE_STAGING_AGE}, that a listed
   * file lies in (relative to the root, up to and including that folder), or null.
   */
  public static String staleStagingFolder(String relative, long nowMillis) {
    String[] parts = relative.split("/");
    for (int i = 0; i < parts.length - 1; i++) {
      if (FolderPaths.isStaleStaging(parts[i], nowMillis)) {
        return String.join("/", Arrays.copyOf(parts, i + 1));
      }
    }
    return null;
  }

  // ---- The job's own folders ----

  /** The output or stats root overlaps the input in a way the job refuses before writing. */
  public static final class RootsOverlapException extends LoraQuantException {
    private static final long serialVersionUID = 1L;

    RootsOverlapException(String message) {
      super(message);
    }
  }

  /**
   * The adapters found, without those under the job's own output and stats roots when these lie
   * inside the input in a folder of their own (a compressed adapter keeps its adapter_config.json
   * and would otherwise be compressed again).
   *
   * @throws RootsOverlapException when the input lies inside a job root, or a job root lies inside
   *     an input adapter's folder
   */
  public static List<DiscoveredAdapter> withoutJobFolders(
      Root input, List<Root> jobRoots, List<DiscoveredAdapter> found) {
    String inputPrefix = input.qualified() + "/";
    List<String> excluded = new ArrayList<>();
    for (Root root : jobRoots) {
      String qualified = root.qualified();
      if (inputPrefix.startsWith(qualified + "/")) {
        // Outputs would land among the inputs (or replace them): refuse before writing anything.
        throw new RootsOverlapException(
            "--input "
                + input.given()
                + " is the same as, or inside, "
                + root.given()
                + "; the output and stats folders must be outside the input (or inside it, in a"
                + " folder of their own)");
      }
      for (DiscoveredAdapter adapter : found) {
        String folder = adapter.location();
        if (qualified.equals(folder) || qualified.startsWith(folder + "/")) {
          throw insideAnAdapter(root.given(), folder);
        }
      }
      if (qualified.startsWith(inputPrefix)) {
        excluded.add(qualified.substring(inputPrefix.length()));
      }
    }
    if (excluded.isEmpty()) {
      return found;
    }
    List<DiscoveredAdapter> kept = new ArrayList<>();
    for (DiscoveredAdapter a : found) {
      String path = a.relativePath();
      if (excluded.stream().noneMatch(e -> path.equals(e) || path.startsWith(e + "/"))) {
        kept.add(a);
      }
    }
    return kept;
  }

  /**
   * Refuses job roots inside an input adapter's folder before the run lock creates anything under
   * them: checks each folder from the input root down to the job root for an adapter config (one
   * existence check per level, no listing). {@link #withoutJobFolders} checks the same against the
   * listing once it is made.
   *
   * @throws RootsOverlapException naming the root and the adapter's folder
   */
  public static void refuseRootsInsideInputAdapters(FileIO io, Root input, List<Root> jobRoots)
      throws IOException {
    for (Root root : jobRoots) {
      String qualified = root.qualified();
      if (!qualified.startsWith(input.qualified() + "/")) {
        continue;
      }
      String folder = input.qualified();
      String below = qualified.substring(input.qualified().length() + 1);
      for (String segment : (below + "/").split("/", -1)) {
        if (io.exists(folder + "/" + AdapterConfig.FILE_NAME)) {
          throw insideAnAdapter(root.given(), folder);
        }
        folder = folder + "/" + segment;
      }
    }
  }

  /** The job would write into an adapter's own folder: the input tree is read-only. */
  private static RootsOverlapException insideAnAdapter(String root, String adapterFolder) {
    return new RootsOverlapException(
        root
            + " is inside the folder of the input adapter "
            + adapterFolder
            + "; the output and stats folders must be outside the input's adapters");
  }

  // ---- Up to date or to compress ----

  /** What the up-to-date decision needs from an existing output's manifest. */
  public interface ManifestSummary {
    /** False when the manifest could not be parsed. */
    boolean readable();

    /** True when a job run (not {@code compress}) committed the output, with its run id and time. */
    boolean committedByARun();

    String inputFingerprint();

    String settingsFingerprint();
  }

  /** The existing outputs of adapters found in the input: the manifests to read. */
  public static List<ExistingOutput> manifestsToRead(
      List<DiscoveredAdapter> inputs, Map<String, ExistingOutput> existing) {
    List<ExistingOutput> candidates = new ArrayList<>();
    for (DiscoveredAdapter adapter : inputs) {
      ExistingOutput output = existing.get(adapter.relativePath());
      if (output != null) {
        candidates.add(output);
      }
    }
    return candidates;
  }

  /**
   * True when the output was made by a job run from exactly this input with exactly these
   * settings, so compressing again would give the same bytes.
   */
  public static boolean isCurrent(
      ManifestSummary output, String inputFingerprint, String settingsFingerprint) {
    return output.readable()
        && output.committedByARun()
        && inputFingerprint.equals(output.inputFingerprint())
        && settingsFingerprint.equals(output.settingsFingerprint());
  }

  /**
   * @param upToDate adapters (relative paths, sorted) whose output is current
   * @param toCompress the other adapters, in input order
   */
  public record Decisions(Set<String> upToDate, Map<String, DiscoveredAdapter> toCompress) {}

  /**
   * Which adapters to compress: all of them when {@code force}, else those without a current
   * output ({@link #isCurrent}).
   */
  public static Decisions decide(
      List<DiscoveredAdapter> inputs,
      Map<String, ? extends ManifestSummary> outputs,
      String settingsFingerprint,
      boolean force) {
    Set<String> upToDate = new TreeSet<>();
    Map<String, DiscoveredAdapter> toCompress = new LinkedHashMap<>();
    for (DiscoveredAdapter adapter : inputs) {
      ManifestSummary output = outputs.get(adapter.relativePath());
      if (!force
          && output != null
          && isCurrent(output, adapter.fingerprint(), settingsFingerprint)) {
        upToDate.add(adapter.relativePath());
      } else {
        toCompress.put(adapter.relativePath(), adapter);
      }
    }
    return new Decisions(upToDate, toCompress);
  }

  // ---- Adapters read whole inside their task ----

  /**
   * The adapters of {@code toCompress} whose weights file, as listed, holds at most {@code
   * wholeFileBytes} (0: none), each as a {@link LayerWork#wholeAdapter} entry of that length, in
   * input order. Such an adapter is not opened before planning: its task reads its config and its
   * weights file from the start (one request, or reads of up to max-read-bytes) and finds its
   * layers there, so the header is never read apart from the tensors (on object storage, an
   * adapter's cost is its requests, not its bytes). Its place in the plan comes from the listed
   * length alone, so the driver holds nothing of its content. An adapter without a listed weights
   * file is opened as usual, which refuses it.
   */
  public static List<LayerWork> readWhole(
      Map<String, DiscoveredAdapter> toCompress, long wholeFileBytes) {
    List<LayerWork> whole = new ArrayList<>();
    if (wholeFileBytes <= 0) {
      return whole; // off, even for an empty weights file
    }
    for (DiscoveredAdapter adapter : toCompress.values()) {
      DiscoveredAdapter.AdapterFile weights = adapter.file(PeftAdapterReader.WEIGHTS_FILE);
      if (weights != null && weights.size() >= 0 && weights.size() <= wholeFileBytes) {
        whole.add(LayerWork.wholeAdapter(adapter.relativePath(), weights.size()));
      }
    }
    return whole;
  }
}
