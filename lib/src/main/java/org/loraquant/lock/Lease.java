package org.loraquant.lock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * One run's claim on a root: who holds it (run id, host, process id), since when, and until when
 * unless renewed. Stored as a small JSON file, e.g.
 *
 * <pre>{"run_id":"20261122T013000Z-3f9a1c2e","host":"etl-7","pid":4242,
 *  "acquired_at":"2026-11-22T01:30:00Z","expires_at":"2026-11-22T01:40:00Z"}</pre>
 *
 * @param runId the holding run's id
 * @param host host name of the holder's driver
 * @param pid process id of the holder's driver
 * @param acquiredAt when the run took the lock
 * @param expiresAt after this instant the lease is stale and another run may take it over
 */
public record Lease(String runId, String host, long pid, Instant acquiredAt, Instant expiresAt) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A fresh lease for {@code ttl} from {@code now}. */
  public static Lease start(String runId, String host, long pid, Instant now, Duration ttl) {
    return new Lease(runId, host, pid, now, now.plus(ttl));
  }

  /** True once {@code now} is past the expiry (the holder stopped renewing: killed, or hung). */
  public boolean expiredAt(Instant now) {
    return now.isAfter(expiresAt);
  }

  /** The same lease, extended to {@code ttl} from {@code now}. */
  public Lease renewedAt(Instant now, Duration ttl) {
    return new Lease(runId, host, pid, acquiredAt, now.plus(ttl));
  }

  /** True when this lease is the one {@code mine} started (same holder, whatever the expiry). */
  public boolean sameHolder(Lease mine) {
    return runId.equals(mine.runId) && host.equals(mine.host) && pid == mine.pid;
  }

  /** The holder in words, for the one line a refused run prints. */
  public String describe() {
    return "run "
        + runId
        + " (host "
        + host
        + ", pid "
        + pid
        + ") since "
        + acquiredAt
        + ", lease expires at "
        + expiresAt;
  }

  public byte[] toJson() {
    ObjectNode node = JSON.createObjectNode();
    node.put("run_id", runId);
    node.put("host", host);
    node.put("pid", pid);
    node.put("acquired_at", acquiredAt.toString());
    node.put("expires_at", expiresAt.toString());
    try {
      return JSON.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new IllegalStateException("cannot render a lease", e);
    }
  }

  /**
   * Parses a lease file.
   *
   * @throws IllegalArgumentException naming {@code file} when it is not a complete lease (a file
   *     being written, or not ours)
   */
  public static Lease parse(String file, byte[] json) {
    try {
      JsonNode node = JSON.readTree(new String(json, StandardCharsets.UTF_8));
      if (node == null || !node.isObject()) {
        throw new IllegalArgumentException(file + ": not a lease (expected a JSON object)");
      }
      return new Lease(
          text(file, node, "run_id"),
          text(file, node, "host"),
          number(file, node, "pid"),
          Instant.parse(text(file, node, "acquired_at")),
          Instant.parse(text(file, node, "expires_at")));
    } catch (IOException | DateTimeParseException e) {
      throw new IllegalArgumentException(file + ": not a lease (" + e.getMessage() + ")", e);
    }
  }

  private static String text(String file, JsonNode node, String key) {
    JsonNode value = node.get(key);
    if (value == null || !value.isTextual()) {
      throw new IllegalArgumentException(file + ": not a lease (no string '" + key + "')");
    }
    return value.asText();
  }

  private static long number(String file, JsonNode node, String key) {
    JsonNode value = node.get(key);
    if (value == null || !value.canConvertToLong() || !value.isIntegralNumber()) {
      throw new IllegalArgumentException(file + ": not a lease (no integer '" + key + "')");
    }
    return value.asLong();
  }
}
