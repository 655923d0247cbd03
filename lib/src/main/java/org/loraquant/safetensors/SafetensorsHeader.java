package org.loraquant.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.io.InputFile;
import org.loraquant.io.IoErrors;

/**
 * The parsed and validated header of a safetensors file.
 *
 * <pre>
 * +--------------------+---------------------------------+-----------------------------------+
 * | u64 LE: header len | JSON header (UTF-8, space-      | data area: tensor bytes, addressed |
 * | (8 bytes)          | padded), `header len` bytes     | by data_offsets [begin, end)       |
 * +--------------------+---------------------------------+-----------------------------------+
 * </pre>
 *
 * Nothing read from the file is trusted before it is checked: the header length against the cap and
 * the file length, every tensor's offsets against the data area and against its dtype x shape, and
 * tensors against each other. Parsing reads only the header bytes, so a header that declares a huge
 * tensor costs nothing.
 *
 * <p>A file is accepted only if the reference implementation (the Rust {@code safetensors} crate
 * behind the Python package) would accept it too: the header is strict UTF-8 (malformed bytes are
 * refused, not replaced) holding exactly one JSON object, with only JSON whitespace around it (the
 * space padding writers add), no string that is not valid Unicode (an unpaired surrogate escape,
 * backslash-u D800), dtypes spelled exactly, {@code __metadata__} a map of strings; and the
 * tensors, sorted by offsets, tile the data area exactly: the first starts at 0, each starts where
 * the previous ends, the last ends at the end of the file. A header length that is off by a byte
 * therefore fails instead of shifting every tensor by that byte. One rule is stricter than the
 * reference, which keeps the last of two entries with one name: duplicate keys are refused.
 */
public final class SafetensorsHeader {
  /** Bytes of the little-endian header length that starts every file. */
  public static final int LENGTH_PREFIX_BYTES = 8;

  /** Largest header we read (the same cap as the reference Rust implementation). */
  public static final long MAX_HEADER_BYTES = 100_000_000L;

  static final String METADATA_KEY = "__metadata__";

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final String location;
  private final long fileLength;
  private final long dataStart;
  private final Map<String, String> metadata;
  private final List<TensorInfo> tensors;
  private final Map<String, TensorInfo> byName;

  private SafetensorsHeader(
      String location,
      long fileLength,
      long dataStart,
      Map<String, String> metadata,
      List<TensorInfo> tensors) {
    this.location = location;
    this.fileLength = fileLength;
    this.dataStart = dataStart;
    this.metadata = Collections.unmodifiableMap(metadata);
    this.tensors = List.copyOf(tensors);
    Map<String, TensorInfo> names = new LinkedHashMap<>();
    for (TensorInfo t : tensors) {
      names.put(t.name(), t);
    }
    this.byName = Collections.unmodifiableMap(names);
  }

  /**
   * Bytes read with the length prefix, on the chance that they hold the whole header: one request
   * reads the header of most LoRA adapters (a 7-module rank-16 llama2-7b adapter has about 60 KB).
   */
  public static final int SPECULATIVE_HEADER_BYTES = 128 * 1024;

  /**
   * Reads and validates the header of {@code file}, reading only the length prefix and the header.
   *
   * @throws IncompleteAdapterException if the file is shorter than its header declares
   * @throws InvalidAdapterException if the header is malformed or inconsistent
   * @throws UncheckedIOException if storage fails
   */
  public static SafetensorsHeader read(InputFile file) {
    try {
      return parse(file.location(), file.length(), readHeaderBytes(file));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file.location(), e);
    }
  }

  /**
   * The header's JSON bytes (without the length prefix), checked against the cap and the file's
   * length but not parsed. One read of the first {@link #SPECULATIVE_HEADER_BYTES} (or the whole
   * file, if shorter) finds the length and, mostly, the header; a larger header costs one more
   * read of exactly its remaining bytes.
   *
   * @throws IncompleteAdapterException if the file is shorter than its header declares
   * @throws InvalidAdapterException if the declared length is over the cap
   * @throws UncheckedIOException if storage fails
   */
  public static byte[] readHeaderBytes(InputFile file) {
    String where = file.location();
    try {
      long fileLength = file.length();
      if (fileLength < LENGTH_PREFIX_BYTES) {
        throw new IncompleteAdapterException(
            where,
            null,
            "file is "
                + fileLength
                + " bytes, shorter than the 8-byte header length that starts a safetensors file"
                + " (truncated?)");
      }
      byte[] first = file.read(0, (int) Math.min(fileLength, SPECULATIVE_HEADER_BYTES));
      long headerLength = ByteBuffer.wrap(first).order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
        throw InvalidAdapterException.of(
            where,
            "header length "
                + Long.toUnsignedString(headerLength)
                + " exceeds the limit of "
                + MAX_HEADER_BYTES
                + " bytes; not a safetensors file?");
      }
      if (headerLength > fileLength - LENGTH_PREFIX_BYTES) {
        throw new IncompleteAdapterException(
            where,
            null,
            "file is "
                + fileLength
                + " bytes but declares a header of "
                + headerLength
                + " bytes after the 8-byte length (truncated?)");
      }
      byte[] headerBytes = new byte[(int) headerLength];
      int inFirst = (int) Math.min(headerLength, first.length - LENGTH_PREFIX_BYTES);
      System.arraycopy(first, LENGTH_PREFIX_BYTES, headerBytes, 0, inFirst);
      if (inFirst < headerLength) {
        file.readFully(
            LENGTH_PREFIX_BYTES + (long) inFirst,
            headerBytes,
            inFirst,
            (int) headerLength - inFirst);
      }
      return headerBytes;
    } catch (EOFException e) {
      throw new IncompleteAdapterException(
          where, null, "file ended while reading the header: " + e.getMessage());
    } catch (IOException e) {
      throw IoErrors.cannotRead(where, e);
    }
  }

  /**
   * Parses header bytes (without the length prefix) of a file of {@code fileLength} bytes. Exposed
   * for tests and for readers that already hold the header bytes.
   */
  public static SafetensorsHeader parse(String where, long fileLength, byte[] headerBytes) {
    long dataStart = LENGTH_PREFIX_BYTES + (long) headerBytes.length;
    long dataLength = fileLength - dataStart;
    if (dataLength < 0) {
      throw new IncompleteAdapterException(
          where,
          null,
          "file is "
              + fileLength
              + " bytes, shorter than its "
              + headerBytes.length
              + "-byte header");
    }
    JsonNode root;
    try {
      // From a String decoded strictly, not from bytes: Jackson would guess UTF-16 or UTF-32 from
      // the first bytes, skip a byte-order mark and let some malformed UTF-8 through.
      root = JSON.readTree(strictUtf8(where, headerBytes));
    } catch (JsonProcessingException e) {
      throw new InvalidAdapterException(
          where,
          null,
          "header is not valid JSON: " + e.getOriginalMessage() + " at " + location(e),
          e);
    } catch (IOException e) {
      throw new InvalidAdapterException(
          where, null, "header is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw InvalidAdapterException.of(
          where,
          "header is not a JSON object (found "
              + (root == null ? "nothing" : root.getNodeType())
              + ")");
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    List<TensorInfo> tensors = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      checkUnicode(where, field.getKey(), field.getValue());
      if (field.getKey().equals(METADATA_KEY)) {
        metadata.putAll(parseMetadata(where, field.getValue()));
      } else {
        tensors.add(parseTensor(where, field.getKey(), field.getValue(), dataStart, dataLength));
      }
    }
    tensors.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    checkTiling(where, tensors, dataLength);
    return new SafetensorsHeader(where, fileLength, dataStart, metadata, tensors);
  }

  private static String location(JsonProcessingException e) {
    return e.getLocation() == null
        ? "unknown location"
        : "line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
  }

  private static Map<String, String> parseMetadata(String where, JsonNode node) {
    if (node.isNull()) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw InvalidAdapterException.of(
          where, METADATA_KEY + " must be an object of strings, found " + node.getNodeType());
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw InvalidAdapterException.of(
            where,
            METADATA_KEY
                + " must be an object of strings, but '"
                + e.getKey()
                + "' is "
                + e.getValue().getNodeType());
      }
      out.put(e.getKey(), e.getValue().textValue());
    }
    return out;
  }

  private static TensorInfo parseTensor(
      String where, String name, JsonNode node, long dataStart, long dataLength) {
    if (!node.isObject()) {
      throw new InvalidAdapterException(
          where, name, "entry is not a JSON object but " + node.getNodeType());
    }
    JsonNode dtypeNode = node.get("dtype");
    DType dtype =
        dtypeNode != null && dtypeNode.isTextual()
            ? DType.parseOrNull(dtypeNode.textValue())
            : null;
    if (dtype == null) {
      throw new InvalidAdapterException(
          where,
          name,
          "unknown dtype "
              + (dtypeNode == null ? "(missing)" : dtypeNode.toString())
              + "; known: "
              + Arrays.toString(DType.values()));
    }
    long[] shape = longArray(node.get("shape"));
    if (shape == null || Arrays.stream(shape).anyMatch(d -> d < 0)) {
      throw new InvalidAdapterException(
          where,
          name,
          "shape must be an array of non-negative integers, found " + node.get("shape"));
    }
    long[] offsets = longArray(node.get("data_offsets"));
    if (offsets == null || offsets.length != 2 || offsets[0] < 0 || offsets[1] < offsets[0]) {
      throw new InvalidAdapterException(
          where,
          name,
          "data_offsets must be [begin, end] with 0 <= begin <= end, found "
              + node.get("data_offsets"));
    }
    long begin = offsets[0];
    long end = offsets[1];
    long expectedBytes = byteCount(where, name, dtype, shape);
    if (end - begin != expectedBytes) {
      throw new InvalidAdapterException(
          where,
          name,
          "data_offsets ["
              + begin
              + ", "
              + end
              + "] span "
              + (end - begin)
              + " bytes but "
              + dtype
              + Arrays.toString(shape)
              + " needs "
              + expectedBytes);
    }
    if (end > dataLength) {
      throw new IncompleteAdapterException(
          where,
          name,
          "data_offsets ["
              + begin
              + ", "
              + end
              + "] reach past the end of the data area ("
              + dataLength
              + " bytes; file truncated?)");
    }
    return new TensorInfo(name, dtype, shape, begin, end, dataStart);
  }

  private static long byteCount(String where, String name, DType dtype, long[] shape) {
    try {
      long numel = 1;
      for (long d : shape) {
        numel = Math.multiplyExact(numel, d);
      }
      return Math.multiplyExact(numel, (long) dtype.size());
    } catch (ArithmeticException e) {
      throw new InvalidAdapterException(
          where, name, "byte size of " + dtype + Arrays.toString(shape) + " overflows 64 bits");
    }
  }

  /** A JSON array of integers that fit a long, or null if the node is anything else. */
  private static long[] longArray(JsonNode node) {
    if (node == null || !node.isArray()) {
      return null;
    }
    long[] out = new long[node.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode v = node.get(i);
      if (!v.isIntegralNumber() || !v.canConvertToLong()) {
        return null;
      }
      out[i] = v.longValue();
    }
    return out;
  }

  /**
   * The tensors, sorted by (begin, end), must tile the data area: the first begins at 0, each
   * begins where the previous one ends (empty tensors included), the last ends at the data area's
   * end. Bytes outside every tensor mean the header and the data disagree (a wrong header length
   * shifts them all), bytes in two tensors mean one of them is wrong.
   */
  private static void checkTiling(String where, List<TensorInfo> sorted, long dataLength) {
    TensorInfo previous = null;
    long covered = 0;
    for (TensorInfo t : sorted) {
      if (t.begin() < covered) {
        throw new InvalidAdapterException(
            where,
            t.name(),
            "bytes ["
                + t.begin()
                + ", "
                + t.end()
                + ") overlap tensor '"
                + InvalidAdapterException.printable(previous.name())
                + "' at ["
                + previous.begin()
                + ", "
                + previous.end()
                + ")");
      }
      if (t.begin() > covered) {
        throw new InvalidAdapterException(
            where,
            t.name(),
            "data_offsets begin at "
                + t.begin()
                + ", but "
                + (previous == null
                    ? "the data area starts at 0"
                    : "tensor '"
                        + InvalidAdapterException.printable(previous.name())
                        + "' ends at "
                        + covered)
                + ": bytes ["
                + covered
                + ", "
                + t.begin()
                + ") belong to no tensor");
      }
      previous = t;
      covered = t.end();
    }
    if (covered != dataLength) {
      throw InvalidAdapterException.of(
          where,
          "the tensors cover "
              + covered
              + " bytes but the data area after the header is "
              + dataLength
              + " bytes: the last "
              + (dataLength - covered)
              + " belong to no tensor (a wrong header length, or bytes appended to the file?)");
    }
  }

  /**
   * The header text: strict UTF-8, as the reference implementation requires. A replacing decoder
   * would turn a malformed name into one with U+FFFD in it, which no longer names the tensor.
   */
  private static String strictUtf8(String where, byte[] bytes) {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes);
    CharBuffer out = CharBuffer.allocate(bytes.length); // UTF-8 never gives more chars than bytes
    CoderResult result = decoder.decode(in, out, true);
    if (!result.isError()) {
      result = decoder.flush(out);
    }
    if (result.isError()) {
      throw InvalidAdapterException.of(
          where,
          "header is not valid UTF-8: malformed byte sequence at byte "
              + (LENGTH_PREFIX_BYTES + in.position())
              + " of the file");
    }
    return out.flip().toString();
  }

  /**
   * Refuses strings that are not valid Unicode anywhere in one top-level entry: JSON lets
   * backslash-u escapes spell a lone UTF-16 surrogate, the reference parser refuses it, and Java
   * would carry it along and later write it out as '?', giving an output that names another
   * tensor.
   */
  private static void checkUnicode(String where, String key, JsonNode value) {
    String bad = hasLoneSurrogate(key) ? key : firstInvalidString(value);
    if (bad == null) {
      return;
    }
    String problem =
        "header string \""
            + InvalidAdapterException.printable(bad)
            + "\" holds an unpaired UTF-16 surrogate (a lone \\u escape), which is not valid"
            + " Unicode";
    if (bad.equals(key) || key.equals(METADATA_KEY) || hasLoneSurrogate(key)) {
      throw InvalidAdapterException.of(where, problem);
    }
    throw new InvalidAdapterException(where, key, problem);
  }

  private static String firstInvalidString(JsonNode node) {
    if (node.isTextual()) {
      return hasLoneSurrogate(node.textValue()) ? node.textValue() : null;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String bad = hasLoneSurrogate(e.getKey()) ? e.getKey() : firstInvalidString(e.getValue());
      if (bad != null) {
        return bad;
      }
    }
    if (node.isArray()) {
      for (JsonNode item : node) {
        String bad = firstInvalidString(item);
        if (bad != null) {
          return bad;
        }
      }
    }
    return null;
  }

  private static boolean hasLoneSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  /** Where the file lives, for messages. */
  public String location() {
    return location;
  }

  /** The file's length when the header was read. */
  public long fileLength() {
    return fileLength;
  }

  /** Offset of the data area in the file (8 + header length). */
  public long dataStart() {
    return dataStart;
  }

  /** The {@code __metadata__} strings, in file order; empty if absent. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** All tensors, in data-area order (by begin offset). */
  public List<TensorInfo> tensors() {
    return tensors;
  }

  /** The tensor called {@code name}, or null if there is none. */
  public TensorInfo tensor(String name) {
    return byName.get(name);
  }

  public boolean contains(String name) {
    return byName.containsKey(name);
  }

  /** Sum of all tensors' byte lengths. */
  public long tensorBytes() {
    long sum = 0;
    for (TensorInfo t : tensors) {
      sum += t.byteLength();
    }
    return sum;
  }
}
