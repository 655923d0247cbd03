package org.loraquant.cli;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.io.FileIO;
import org.loraquant.io.OwnedFolder;

/**
 * What {@code compress IN OUT} and {@code decompress IN OUT} may write into. OUT must be absent,
 * an empty folder, or (with {@code --overwrite}) a previous output of the same command, which is
 * recognised by a file only that command writes: {@code loraquant_model.safetensors} or {@code
 * loraquant_manifest.json} for compress, {@code .loraquant_decompressed} for decompress. A previous
 * output is not replaced without {@code --overwrite}: the flag is the user saying so, and it never
 * extends to anything else (a file, a folder of someone else's, the input). OUT may never be IN,
 * inside IN, or hold IN, compared by real paths (symbolic links resolved) for local folders and by
 * qualified paths for Hadoop URIs. Any refusal is one line naming OUT, and nothing is touched.
 */
final class OutputFolderRule {
  private OutputFolderRule() {}

  static void check(String in, String out, FileIO outIo, OwnedFolder.Layout layout, boolean overwrite)
      throws IOException {
    String inKey = canonical(in);
    String outKey = canonical(out);
    if (outKey.equals(inKey)) {
      throw refusal(out, "is the input folder itself; choose an output folder outside " + in);
    }
    if (outKey.startsWith(inKey + "/")) {
      throw refusal(out, "is inside the input folder " + in + "; choose an output folder outside it");
    }
    if (inKey.startsWith(outKey + "/")) {
      throw refusal(out, "holds the input folder " + in + "; choose an output folder outside it");
    }
    OwnedFolder.Contents contents = OwnedFolder.inspect(outIo, out, layout);
    if (contents.exists() && !contents.folder()) {
      throw refusal(out, "exists and is not a folder; choose a new or empty folder");
    }
    if (contents.isFree()) {
      return;
    }
    if (contents.holdsOurOutput(layout)) {
      if (overwrite) {
        return;
      }
      throw refusal(out, "holds a previous output of " + layout.writer() + "; use --overwrite to replace it");
    }
    List<String> entries = new java.util.ArrayList<>(contents.ours());
    entries.addAll(contents.others());
    entries.sort(null);
    throw refusal(out, "is not empty (" + describe(entries) + ") and holds no output of "
        + layout.writer() + "; choose a new or empty folder (--overwrite replaces only a previous output of "
        + layout.writer() + ")");
  }

  private static LoraQuantException refusal(String out, String problem) {
    return new LoraQuantException("OUT " + out + " " + problem);
  }

  private static String describe(List<String> entries) {
    int shown = Math.min(3, entries.size());
    String names = String.join(", ", entries.subList(0, shown));
    return entries.size() > shown ? names + " and " + (entries.size() - shown) + " more" : names;
  }

  /**
   * A key that is equal for two spellings of one folder and has the form {@code PREFIX/a/b}, so
   * that "inside" is a prefix test. Local folders (plain paths and {@code file:} URIs) become
   * their real path: the deepest part that exists is resolved with its symbolic links, the rest
   * is appended as given (normalised). Other URIs become Hadoop's qualified path.
   */
  static String canonical(String location) throws IOException {
    Path local = localPath(location);
    if (local == null) {
      org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(location);
      String qualified =
          path.getFileSystem(new org.apache.hadoop.conf.Configuration()).makeQualified(path).toString();
      return qualified.endsWith("/") ? qualified.substring(0, qualified.length() - 1) : qualified;
    }
    Path absolute = local.toAbsolutePath().normalize();
    Deque<String> missing = new ArrayDeque<>();
    Path existing = absolute;
    while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
      missing.push(existing.getFileName().toString());
      existing = existing.getParent();
    }
    Path real = existing == null ? absolute.getRoot() : existing.toRealPath();
    for (String name : missing) {
      real = real.resolve(name);
    }
    String text = real.toString().replace('\\', '/');
    return "file://" + (text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
  }

  /** The local path of a plain path or a {@code file:} URI; null for other URIs. */
  private static Path localPath(String location) {
    if (!PathStorage.hasScheme(location)) {
      return Path.of(location);
    }
    URI uri = new org.apache.hadoop.fs.Path(location).toUri();
    return "file".equalsIgnoreCase(uri.getScheme()) ? Path.of(uri.getPath()) : null;
  }
}
