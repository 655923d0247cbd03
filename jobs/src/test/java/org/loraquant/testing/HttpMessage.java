package org.loraquant.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Just enough HTTP/1.1 for {@link FaultInjectingProxy}: the head of a request or response, and
 * copying a body with the framing the head announces (Content-Length, chunked, or until close).
 * Bytes are passed through untouched, so signed requests stay valid.
 */
final class HttpMessage {
  private static final int MAX_HEAD_BYTES = 64 * 1024;

  private final String startLine;
  private final List<String> headerLines;

  private HttpMessage(String startLine, List<String> headerLines) {
    this.startLine = startLine;
    this.headerLines = headerLines;
  }

  /** Reads a head up to and including the blank line; {@code null} if the peer closed first. */
  static HttpMessage readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0; // how much of "\r\n\r\n" has just been seen
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        if (head.size() == 0) {
          return null;
        }
        throw new EOFException("Connection closed inside an HTTP head");
      }
      head.write(b);
      if (head.size() > MAX_HEAD_BYTES) {
        throw new IOException("HTTP head longer than " + MAX_HEAD_BYTES + " bytes");
      }
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
    List<String> headers = new ArrayList<>();
    for (int i = 1; i < lines.length; i++) {
      if (!lines[i].isEmpty()) {
        headers.add(lines[i]);
      }
    }
    return new HttpMessage(lines[0], headers);
  }

  String startLine() {
    return startLine;
  }

  /** For a request: GET, PUT, HEAD, ... */
  String method() {
    return startLine.substring(0, startLine.indexOf(' '));
  }

  /** For a request: the path and query. */
  String target() {
    String[] parts = startLine.split(" ");
    return parts.length > 1 ? parts[1] : "/";
  }

  /** For a response: the status code. */
  int status() {
    return Integer.parseInt(startLine.split(" ")[1]);
  }

  /** The first value of a header, or {@code null}. Names compare case-insensitively. */
  String header(String name) {
    for (String line : headerLines) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return null;
  }

  boolean headerContains(String name, String token) {
    String value = header(name);
    return value != null && value.toLowerCase(Locale.ROOT).contains(token);
  }

  /** A copy without the named header. */
  HttpMessage without(String name) {
    List<String> kept = new ArrayList<>();
    for (String line : headerLines) {
      int colon = line.indexOf(':');
      if (colon <= 0 || !line.substring(0, colon).trim().equalsIgnoreCase(name)) {
        kept.add(line);
      }
    }
    return new HttpMessage(startLine, kept);
  }

  void writeHead(OutputStream out) throws IOException {
    StringBuilder head = new StringBuilder(startLine).append("\r\n");
    headerLines.forEach(line -> head.append(line).append("\r\n"));
    head.append("\r\n");
    out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
  }

  boolean isChunked() {
    return headerContains("Transfer-Encoding", "chunked");
  }

  /** -1 when absent. */
  long contentLength() {
    String value = header("Content-Length");
    return value == null ? -1 : Long.parseLong(value);
  }

  boolean wantsClose() {
    return headerContains("Connection", "close");
  }

  /**
   * Copies a request body to {@code out} ({@code null} discards it). A request without
   * Content-Length or chunked framing has no body.
   */
  void copyRequestBody(InputStream in, OutputStream out) throws IOException {
    if (isChunked()) {
      copyChunked(in, out);
    } else if (contentLength() > 0) {
      copyExactly(in, out, contentLength());
    }
  }

  /**
   * Copies a response body.
   *
   * @return {@code true} if the body ran until the upstream closed, so the client connection must
   *     be closed too
   */
  boolean copyResponseBody(String requestMethod, InputStream in, OutputStream out)
      throws IOException {
    int status = status();
    if (requestMethod.equals("HEAD") || status == 204 || status == 304 || status < 200) {
      return false;
    }
    if (isChunked()) {
      copyChunked(in, out);
      return false;
    }
    if (contentLength() >= 0) {
      copyExactly(in, out, contentLength());
      return false;
    }
    in.transferTo(out);
    return true;
  }

  private static void copyExactly(InputStream in, OutputStream out, long length)
      throws IOException {
    byte[] buffer = new byte[64 * 1024];
    long left = length;
    while (left > 0) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
      if (n < 0) {
        throw new EOFException("Body ended " + left + " bytes short of " + length);
      }
      if (out != null) {
        out.write(buffer, 0, n);
      }
      left -= n;
    }
  }

  private static void copyChunked(InputStream in, OutputStream out) throws IOException {
    while (true) {
      String sizeLine = readLine(in);
      write(out, sizeLine + "\r\n");
      int extension = sizeLine.indexOf(';');
      long size =
          Long.parseLong((extension < 0 ? sizeLine : sizeLine.substring(0, extension)).trim(), 16);
      if (size == 0) {
        String trailer;
        do {
          trailer = readLine(in);
          write(out, trailer + "\r\n");
        } while (!trailer.isEmpty());
        return;
      }
      copyExactly(in, out, size + 2); // the chunk and its CRLF
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != '\n') {
      if (b < 0) {
        throw new EOFException("Connection closed inside a chunked body");
      }
      line.write(b);
    }
    String text = line.toString(StandardCharsets.ISO_8859_1);
    return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
  }

  private static void write(OutputStream out, String text) throws IOException {
    if (out != null) {
      out.write(text.getBytes(StandardCharsets.ISO_8859_1));
    }
  }
}
