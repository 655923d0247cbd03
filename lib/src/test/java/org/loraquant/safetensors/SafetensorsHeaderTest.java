package org.loraquant.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.testing.ByteRange;
import org.loraquant.testing.BytesInputFile;

class SafetensorsHeaderTest {
  private static final String FILE = "mem/adapter_model.safetensors";

  /** A file made byte by byte: length prefix, the header text as given, then zeroed data. */
  private static byte[] rawFile(String headerJson, int dataBytes) {
    byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(8 + header.length + dataBytes)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putLong(header.length)
        .put(header)
        .array();
  }

  private static SafetensorsHeader read(byte[] file) {
    return SafetensorsHeader.read(new BytesInputFile(FILE, file));
  }

  private static SafetensorsWriter twoTensors() {
    return new SafetensorsWriter()
        .metadata("format", "pt")
        .addF32("b", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6})
        .addF32("a", new long[] {3}, new float[] {7, 8, 9});
  }

  @Test
  void parsesWhatTheWriterWrites() throws IOException {
    byte[] file = twoTensors().toByteArray();
    BytesInputFile input = new BytesInputFile(FILE, file);
    SafetensorsHeader header = SafetensorsHeader.read(input);

    assertThat(header.metadata()).containsExactly(java.util.Map.entry("format", "pt"));
    assertThat(header.tensors()).extracting(TensorInfo::name).containsExactly("a", "b");
    TensorInfo b = header.tensor("b");
    assertThat(b.dtype()).isEqualTo(DType.F32);
    assertThat(b.shape()).containsExactly(2, 3);
    assertThat(b.begin()).isEqualTo(12);
    assertThat(b.end()).isEqualTo(36);
    assertThat(header.dataStart()).isEqualTo(file.length - 36);
    assertThat(header.tensor("missing")).isNull();
    assertThat(header.tensorBytes()).isEqualTo(36);

    SafetensorsReader reader = SafetensorsReader.open(input);
    assertThat(reader.readFloats(b)).containsExactly(1, 2, 3, 4, 5, 6);
    assertThat(reader.readFloats(header.tensor("a"))).containsExactly(7, 8, 9);
  }

  @Test
  void readingOneTensorReadsOnlyItsByteRange() throws IOException {
    BytesInputFile input = new BytesInputFile(FILE, twoTensors().toByteArray());
    SafetensorsReader reader = SafetensorsReader.open(input);
    int headerReads = input.reads().size();
    TensorInfo b = reader.header().tensor("b");
    reader.readBytes(b);
    assertThat(input.reads().subList(headerReads, input.reads().size()))
        .containsExactly(new ByteRange(FILE, b.absoluteBegin(), 24));
  }

  @Test
  void aHeaderLargerThanTheSpeculativeReadCostsExactlyOneMoreRead() throws IOException {
    SafetensorsWriter writer = new SafetensorsWriter();
    int tensors = SafetensorsHeader.SPECULATIVE_HEADER_BYTES / 40; // ~60 bytes of header each
    for (int i = 0; i < tensors; i++) {
      writer.addF32(String.format("tensor.%06d", i), new long[] {1}, new float[] {i});
    }
    byte[] file = writer.toByteArray();
    BytesInputFile input = new BytesInputFile(FILE, file);
    SafetensorsHeader header = SafetensorsHeader.read(input);

    int speculative = SafetensorsHeader.SPECULATIVE_HEADER_BYTES;
    assertThat(header.dataStart()).isGreaterThan(speculative);
    assertThat(input.reads())
        .containsExactly(
            new ByteRange(FILE, 0, speculative),
            new ByteRange(FILE, speculative, (int) header.dataStart() - speculative));
    assertThat(header.tensors()).hasSize(tensors);
  }

  @Test
  void aSmallFileIsReadWholeByTheFirstRead() throws IOException {
    byte[] file = twoTensors().toByteArray();
    BytesInputFile input = new BytesInputFile(FILE, file);
    SafetensorsHeader.read(input);
    assertThat(input.reads()).containsExactly(new ByteRange(FILE, 0, file.length));
  }

  @Test
  void headerWithoutMetadataAndTensorsInAnyOrderIsSortedByOffset() {
    byte[] file =
        rawFile(
            "{\"z\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                + "\"y\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[4,6]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[6,6]}}  ",
            6);
    SafetensorsHeader header = read(file);
    assertThat(header.metadata()).isEmpty();
    assertThat(header.tensors()).extracting(TensorInfo::name).containsExactly("z", "y", "e");
    assertThat(header.tensor("y").numel()).isEqualTo(1);
  }

  @Test
  void fileShorterThanTheLengthPrefixIsIncomplete() {
    assertThatThrownBy(() -> read(new byte[5]))
        .isExactlyInstanceOf(IncompleteAdapterException.class)
        .hasMessage(
            FILE
                + ": file is 5 bytes, shorter than the 8-byte header length that starts a"
                + " safetensors file (truncated?)");
  }

  @Test
  void headerLengthAboveTheCapIsRefused() {
    byte[] file = rawFile("{}", 0);
    ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 100_000_001L);
    assertThatThrownBy(() -> read(file))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": header length 100000001 exceeds the limit of 100000000 bytes; not a"
                + " safetensors file?");

    ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
    assertThatThrownBy(() -> read(file))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": header length 18446744073709551615 exceeds the limit of 100000000 bytes; not a"
                + " safetensors file?");
  }

  @Test
  void headerLongerThanTheFileIsIncomplete() throws IOException {
    byte[] whole = twoTensors().toByteArray();
    int headerLength = whole.length - 8 - 36;
    byte[] cut = Arrays.copyOf(whole, 8 + headerLength - 1);
    assertThatThrownBy(() -> read(cut))
        .isExactlyInstanceOf(IncompleteAdapterException.class)
        .hasMessage(
            FILE
                + ": file is "
                + cut.length
                + " bytes but declares a header of "
                + headerLength
                + " bytes after the 8-byte length (truncated?)");
  }

  @Test
  void truncatedDataAreaIsIncomplete() throws IOException {
    byte[] whole = twoTensors().toByteArray();
    byte[] cut = Arrays.copyOf(whole, whole.length - 1);
    assertThatThrownBy(() -> read(cut))
        .isExactlyInstanceOf(IncompleteAdapterException.class)
        .hasMessage(
            FILE
                + ": tensor 'b': data_offsets [12, 36] reach past the end of the data area (35"
                + " bytes; file truncated?)");
  }

  @Test
  void malformedJsonIsRefusedWithItsLocation() {
    assertThatThrownBy(() -> read(rawFile("{\"a\": {\"dtype\": }", 0)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": header is not valid JSON: Unexpected character ('}' (code 125)): expected a"
                + " valid value (JSON String, Number, Array, Object or token 'null', 'true' or"
                + " 'false') at line 1, column 17");
  }

  @Test
  void trailingGarbageAfterTheObjectIsRefused() {
    assertThatThrownBy(() -> read(rawFile("{} x", 0)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(FILE + ": header is not valid JSON: ")
        .hasMessageEndingWith(" at line 1, column 5");
  }

  @Test
  void duplicateTensorNamesAreRefused() {
    String entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
    assertThatThrownBy(() -> read(rawFile("{\"t\":" + entry + ",\"t\":" + entry + "}", 4)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(FILE + ": header is not valid JSON: Duplicate field 't'");
  }

  @Test
  void headerMustBeAnObject() {
    assertThatThrownBy(() -> read(rawFile("[1, 2]  ", 0)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": header is not a JSON object (found ARRAY)");
    assertThatThrownBy(() -> read(rawFile("        ", 0)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": header is not a JSON object (found MISSING)");
  }

  @Test
  void metadataMustHoldStrings() {
    assertThatThrownBy(() -> read(rawFile("{\"__metadata__\":{\"format\":1}}", 0)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": __metadata__ must be an object of strings, but 'format' is NUMBER");
  }

  @Test
  void unknownDtypeIsRefused() {
    assertThatThrownBy(
            () ->
                read(
                    rawFile(
                        "{\"t\":{\"dtype\":\"Q4_K\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": tensor 't': unknown dtype \"Q4_K\"; known: [BOOL, U8, I8, F8_E4M3, F8_E5M2,"
                + " I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64]");
  }

  @Test
  void negativeShapeIsRefused() {
    assertThatThrownBy(
            () ->
                read(
                    rawFile(
                        "{\"t\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}}", 0)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE + ": tensor 't': shape must be an array of non-negative integers, found [2,-1]");
  }

  @Test
  void offsetsMustBeAnOrderedPair() {
    assertThatThrownBy(
            () ->
                read(
                    rawFile("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": tensor 't': data_offsets must be [begin, end] with 0 <= begin <= end, found"
                + " [4,0]");
  }

  @Test
  void byteCountMustMatchShapeTimesDtype() {
    assertThatThrownBy(
            () ->
                read(
                    rawFile(
                        "{\"t\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE + ": tensor 't': data_offsets [0, 24] span 24 bytes but F16[2, 3] needs 12");
  }

  @Test
  void byteCountOverflowIsAnError() {
    String header =
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}";
    assertThatThrownBy(() -> read(rawFile(header, 0)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE + ": tensor 't': byte size of F32[4294967296, 4294967296] overflows 64 bits");
  }

  @Test
  void overlappingTensorsAreRefused() {
    String header =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    assertThatThrownBy(() -> read(rawFile(header, 12)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": tensor 'b': bytes [4, 12) overlap tensor 'a' at [0, 8)");
  }

  @Test
  void hugeDeclaredTensorIsNeverAllocated() {
    // A 4 TiB tensor in a "file" that claims to be that long but stores only its header: reading
    // the header must touch only the speculative first read (which holds the header), and reading
    // the tensor must refuse before allocating.
    long bytes = 4L << 40;
    String json =
        "{\"huge\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,"
            + bytes
            + "]}}";
    byte[] head = rawFile(json, 0);
    BytesInputFile input = new BytesInputFile(FILE, head, head.length + bytes);

    SafetensorsReader reader = SafetensorsReader.open(input);
    TensorInfo huge = reader.header().tensor("huge");
    assertThat(huge.byteLength()).isEqualTo(bytes);
    assertThat(input.reads())
        .containsExactly(new ByteRange(FILE, 0, SafetensorsHeader.SPECULATIVE_HEADER_BYTES));

    assertThatThrownBy(() -> reader.readBytes(huge))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE + ": tensor 'huge': 4398046511104 bytes is too large to read into one array");
    assertThatThrownBy(() -> reader.readFloats(huge))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE + ": tensor 'huge': 1099511627776 values are too many for one float array");
    assertThat(input.reads()).hasSize(1); // no read for the refused tensor
  }

  @Test
  void hugeDeclaredTensorInASmallFileIsATruncation() {
    String json =
        "{\"huge\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,4398046511104]}}";
    assertThatThrownBy(() -> read(rawFile(json, 16)))
        .isExactlyInstanceOf(IncompleteAdapterException.class)
        .hasMessage(
            FILE
                + ": tensor 'huge': data_offsets [0, 4398046511104] reach past the end of the data"
                + " area (16 bytes; file truncated?)");
  }

  // What the reference implementation (the Rust safetensors crate, behind the Python package)
  // refuses, we refuse: each case below was accepted before and is refused by safetensors 0.x.

  private static final String T4 = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":";

  @Test
  void headerLengthOneByteShortIsRefusedNotReadShifted() {
    // The writer pads the header with spaces; a length one short leaves the last space to the data
    // area, which shifts every tensor by one byte: garbage values, unless the coverage is checked.
    byte[] file = rawFile("{\"t\":" + T4 + "[0,4]}}  ", 4);
    ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putLong(0, file.length - 8 - 4 - 1);
    assertThatThrownBy(() -> read(file))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": the tensors cover 4 bytes but the data area after the header is 5 bytes: the"
                + " last 1 belong to no tensor (a wrong header length, or bytes appended to the"
                + " file?)");
  }

  @Test
  void bytesAfterTheLastTensorAreRefused() {
    byte[] file = rawFile("{\"t\":" + T4 + "[0,4]}}", 4 + 34);
    assertThatThrownBy(() -> read(file))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(
            FILE + ": the tensors cover 4 bytes but the data area after the header is 38 bytes");
  }

  @Test
  void gapsBetweenOrBeforeTensorsAreRefused() {
    assertThatThrownBy(
            () -> read(rawFile("{\"a\":" + T4 + "[0,4]},\"b\":" + T4 + "[8,12]}}", 12)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": tensor 'b': data_offsets begin at 8, but tensor 'a' ends at 4: bytes [4, 8)"
                + " belong to no tensor");
    assertThatThrownBy(() -> read(rawFile("{\"a\":" + T4 + "[4,8]}}", 8)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": tensor 'a': data_offsets begin at 4, but the data area starts at 0: bytes"
                + " [0, 4) belong to no tensor");
  }

  @Test
  void anEmptyTensorInsideAnotherIsAnOverlap() {
    String header =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}";
    assertThatThrownBy(() -> read(rawFile(header, 8)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": tensor 'e': bytes [4, 4) overlap tensor 'a' at [0, 8)");
    // At a boundary it occupies nothing and is fine, as in the reference.
    String atEnd =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}";
    assertThat(read(rawFile(atEnd, 8)).tensors()).extracting(TensorInfo::name).containsExactly("a", "e");
  }

  @Test
  void loneSurrogateEscapesAreRefusedWhereverTheyAre() {
    // Valid JSON, invalid Unicode: Java keeps the lone surrogate, and a writer turns it into '?'.
    assertThatThrownBy(() -> read(rawFile("{\"t\\ud800x\":" + T4 + "[0,4]}}", 4)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": header string \"t\\ud800x\" holds an unpaired UTF-16 surrogate (a lone \\u"
                + " escape), which is not valid Unicode");
    assertThatThrownBy(
            () -> read(rawFile("{\"__metadata__\":{\"k\":\"\\udc00\"},\"t\":" + T4 + "[0,4]}}", 4)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageContaining("\"\\udc00\" holds an unpaired UTF-16 surrogate");
    assertThatThrownBy(
            () ->
                read(
                    rawFile(
                        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
                            + "\"x\\ud83d\":1}}",
                        4)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(FILE + ": tensor 't': header string \"x\\ud83d\"");
    // A proper pair (an emoji) is valid Unicode and fine.
    assertThat(read(rawFile("{\"t\\ud83d\\ude00\":" + T4 + "[0,4]}}", 4)).tensors())
        .extracting(TensorInfo::name)
        .containsExactly("t\ud83d\ude00");
  }

  @Test
  void malformedUtf8IsRefusedNotReplaced() {
    byte[][] malformed = {
      {(byte) 0xff}, // never valid
      {(byte) 0xc3, '('}, // a lead byte without its continuation
      {(byte) 0xc0, (byte) 0xaf}, // overlong '/'
      {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, // an encoded surrogate (CESU-8)
    };
    for (byte[] bad : malformed) {
      byte[] head = "{\"t".getBytes(StandardCharsets.UTF_8);
      byte[] tail = ("\":" + T4 + "[0,4]}}").getBytes(StandardCharsets.UTF_8);
      byte[] json = new byte[head.length + bad.length + tail.length];
      System.arraycopy(head, 0, json, 0, head.length);
      System.arraycopy(bad, 0, json, head.length, bad.length);
      System.arraycopy(tail, 0, json, head.length + bad.length, tail.length);
      byte[] file =
          ByteBuffer.allocate(8 + json.length + 4)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putLong(json.length)
              .put(json)
              .array();
      assertThatThrownBy(() -> read(file))
          .as(Arrays.toString(bad))
          .isExactlyInstanceOf(InvalidAdapterException.class)
          .hasMessage(
              FILE + ": header is not valid UTF-8: malformed byte sequence at byte 11 of the file");
    }
  }

  @Test
  void onlyUtf8JsonWithoutAByteOrderMarkIsAHeader() {
    String json = "{\"t\":" + T4 + "[0,4]}}";
    byte[] utf16 = json.getBytes(StandardCharsets.UTF_16LE);
    byte[] file =
        ByteBuffer.allocate(8 + utf16.length + 4)
            .order(ByteOrder.LITTLE_ENDIAN)
            .putLong(utf16.length)
            .put(utf16)
            .array();
    assertThatThrownBy(() -> read(file))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(FILE + ": header is not valid JSON: ");
    assertThatThrownBy(() -> read(rawFile("\ufeff" + json, 4)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(FILE + ": header is not valid JSON: ");
    // JSON whitespace around the object is the padding the format allows.
    assertThat(read(rawFile(" \n\t" + json + " \r\n ", 4)).tensors()).hasSize(1);
  }

  @Test
  void dtypesAreSpelledExactly() {
    assertThatThrownBy(
            () -> read(rawFile("{\"t\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(FILE + ": tensor 't': unknown dtype \"f32\"; known: [BOOL,");
  }

  @Test
  void nullMetadataIsNoMetadata() {
    // The reference reads __metadata__ as an optional map of strings: null is allowed.
    assertThat(read(rawFile("{\"__metadata__\":null,\"t\":" + T4 + "[0,4]}}", 4)).metadata())
        .isEmpty();
    assertThatThrownBy(() -> read(rawFile("{\"__metadata__\":[\"a\"]}", 0)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": __metadata__ must be an object of strings, found ARRAY");
  }

  @Test
  void readFloatsRefusesIntegerTensors() throws IOException {
    byte[] file =
        new SafetensorsWriter().add("ids", DType.I32, new long[] {1}, new byte[4]).toByteArray();
    SafetensorsReader reader = SafetensorsReader.open(new BytesInputFile(FILE, file));
    assertThatThrownBy(() -> reader.readFloats(reader.header().tensor("ids")))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": tensor 'ids': dtype I32 is not F32, F16 or BF16");
    assertThat(reader.readBytes(reader.header().tensor("ids"))).containsExactly(0, 0, 0, 0);
    assertThat(List.of(reader.header().metadata())).containsExactly(java.util.Map.of());
  }
}
