package org.loraquant.io;

import java.time.Duration;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Folder path conventions shared by everything that writes adapter folders. */
public final class FolderPaths {
  private FolderPaths() {}

  /** Marks staging folders; with the leading '.', adapter discovery passes them over. */
  public static final String STAGING_MARKER = ".loraquant-staging-";

  /**
   * Age from which a staging folder of ours is taken for a killed writer's leftover and removed.
   * A live writer keeps its staging folder only while it writes one adapter's files (seconds to
   * minutes; Spark kills a stalled task attempt with its stage), so half a day is far beyond any
   * live writer and beyond any clock skew between machines, yet short enough for each nightly run
   * to clear what a killed run left the night before.
   */
  public static final Duration STALE_STAGING_AGE = Duration.ofHours(12);

  /** What follows the marker: the staging folder's creation time (epoch ms), '-', a UUID. */
  private static final Pattern STAGING_SUFFIX =
      Pattern.compile("(\\d{1,19})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  /** {@code dir} without one trailing '/', so that children are {@code dir + "/" + name}. */
  public static String withoutTrailingSlash(String dir) {
    return dir.length() > 1 && dir.endsWith("/") ? dir.substring(0, dir.length() - 1) : dir;
  }

  /**
   * A new hidden sibling of {@code target} to stage a folder in: same parent, so the final rename
   * stays on one volume. Its name carries the creation time, so that a killed writer's leftover
   * can be told from a live writer's folder by age alone ({@link #isStaleStagingOf}).
   */
  public static String stagingSibling(String target) {
    return stagingSibling(target, System.currentTimeMillis());
  }

  static String stagingSibling(String target, long createdAtMillis) {
    return parentOf(target) + stagingPrefix(nameOf(target)) + createdAtMillis + "-" + UUID.randomUUID();
  }

  /**
   * Whether {@code entry}, a name in the folder that holds {@code target}, is a staging folder of
   * ours for that target created more than {@link #STALE_STAGING_AGE} before {@code nowMillis}.
   * Only names of exactly our form count ({@code .NAME.loraquant-staging-MILLIS-UUID}); anything
   * else, including a staging folder of ours that is younger, is never taken for a leftover.
   */
  public static boolean isStaleStagingOf(String target, String entry, long nowMillis) {
    String prefix = stagingPrefix(nameOf(target));
    if (!entry.startsWith(prefix)) {
      return false;
    }
    Matcher m = STAGING_SUFFIX.matcher(entry.substring(prefix.length()));
    if (!m.matches()) {
      return false;
    }
    long createdAt;
    try {
      createdAt = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      return false;
    }
    return nowMillis - createdAt > STALE_STAGING_AGE.toMillis();
  }

  /**
   * Whether {@code entry} is a staging folder of ours, for whichever target, older than {@link
   * #STALE_STAGING_AGE}: for a listing that sees staging folders without knowing their targets.
   */
  public static boolean isStaleStaging(String entry, long nowMillis) {
    int marker = entry.indexOf(STAGING_MARKER, 1);
    return entry.startsWith(".") && marker > 1
        && isStaleStagingOf(entry.substring(1, marker), entry, nowMillis);
  }

  /** The folder that holds {@code target}, with a trailing '/', or "" for a bare name. */
  public static String parentOf(String target) {
    int slash = target.lastIndexOf('/');
    return slash < 0 ? "" : target.substring(0, slash + 1);
  }

  /** The last segment of {@code target}. */
  public static String nameOf(String target) {
    return target.substring(target.lastIndexOf('/') + 1);
  }

  private static String stagingPrefix(String name) {
    return "." + name + STAGING_MARKER;
  }
}
