package org.loraquant.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A small HTTP/1.1 forwarding proxy on 127.0.0.1 that can make an S3 store look flaky.
 *
 * <p>Point S3A's endpoint at {@link #endpoint()} instead of the store. Requests are forwarded byte
 * for byte (signatures stay valid: the Host header is kept) until the test asks for failures; then
 * the proxy answers {@code 503 SlowDown} with the XML error body S3 sends when it throttles, which
 * is the error S3A and the AWS SDK retry with back-off.
 *
 * <p>It can also make a store look far away: {@link #delayResponses} holds back each response's
 * first byte, which is what a request to S3 costs in latency (the benchmark's use); and it tallies
 * the requests it sees by method and key prefix ({@link #requestsByKind}).
 */
public final class FaultInjectingProxy implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(FaultInjectingProxy.class.getName());

  private final URI upstream;
  private final ServerSocket server;
  private final ExecutorService connections;
  private final Set<Socket> openSockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger failuresLeft = new AtomicInteger();
  private volatile Long failUntilNanos; // null: no time window
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger injected = new AtomicInteger();
  private final Map<String, AtomicInteger> requestsByKind = new ConcurrentHashMap<>();
  private final java.util.Queue<String> requestLines = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final AtomicInteger underWay = new AtomicInteger();
  private final AtomicInteger mostUnderWay = new AtomicInteger();
  private volatile long responseDelayNanos;
  private volatile Predicate<String> downAfter; // null: no outage armed
  private volatile boolean down;
  private volatile Duration failWindow; // with failWindowFrom: a window not yet begun
  private volatile int failWindowFrom;
  private volatile boolean wentDown;
  private volatile Runnable whenDown = () -> {};
  private volatile boolean closed;

  private FaultInjectingProxy(URI upstream, ServerSocket server) {
    this.upstream = upstream;
    this.server = server;
    this.connections =
        Executors.newCachedThreadPool(
            task -> {
              Thread thread = new Thread(task, "fault-proxy-" + server.getLocalPort());
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Starts a proxy on a free port of 127.0.0.1 that forwards to {@code upstream} (http only). */
  public static FaultInjectingProxy start(URI upstream) {
    try {
      ServerSocket server = new ServerSocket();
      server.bind(new InetSocketAddress(LoopbackPorts.loopback(), 0));
      FaultInjectingProxy proxy = new FaultInjectingProxy(upstream, server);
      proxy.connections.execute(proxy::acceptLoop);
      return proxy;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start the fault-injecting proxy", e);
    }
  }

  public URI endpoint() {
    return URI.create("http://" + LoopbackPorts.HOST + ":" + server.getLocalPort());
  }

  /** The next {@code count} requests get 503 SlowDown. */
  public void failNextRequests(int count) {
    failuresLeft.set(count);
  }

  /** Every request in the next {@code window} gets 503 SlowDown. */
  public void failFor(Duration window) {
    failUntilNanos = System.nanoTime() + window.toNanos();
  }

  /**
   * Every request in the {@code window} that begins with the proxy's {@code request}-th request
   * (counted from now) gets 503 SlowDown: a window the job is sure to meet, however fast it is.
   */
  public void failFor(Duration window, int fromRequest) {
    failWindow = window;
    failWindowFrom = requests.get() + fromRequest;
  }

  /**
   * Once a request whose line ({@code METHOD /bucket/key?query}) matches has been answered, the
   * store is gone: every later request's connection is closed unanswered, as a store that went
   * away leaves it, until {@link #heal()}. Unlike stopping the store from a test thread that polls
   * for the moment, this cannot miss a job that finishes between two polls.
   */
  public void goDownAfter(Predicate<String> requestLine) {
    goDownAfter(requestLine, () -> {});
  }

  /**
   * As {@link #goDownAfter(Predicate)}, and then runs {@code whenDown} once, on the thread that
   * answered the matching request (the outage has begun by then: stop the real store in it, say).
   */
  public void goDownAfter(Predicate<String> requestLine, Runnable whenDown) {
    this.whenDown = whenDown;
    downAfter = requestLine;
  }

  /** Whether an outage armed by {@link #goDownAfter} is under way. */
  public boolean isDown() {
    return down;
  }

  /** Whether an outage armed by {@link #goDownAfter} has begun, healed since or not. */
  public boolean wentDown() {
    return wentDown;
  }

  /** Cancels pending failures and ends an outage. */
  public void heal() {
    failuresLeft.set(0);
    failWindow = null;
    failUntilNanos = null;
    downAfter = null;
    down = false;
  }

  /** Each forwarded response waits {@code delay} before its first byte goes to the client. */
  public void delayResponses(Duration delay) {
    responseDelayNanos = delay.toNanos();
  }

  /**
   * Requests seen, by "METHOD area": the area is the first folder of the key under the bucket
   * ({@code in}, {@code out}, ...), or {@code list:PREFIX-FOLDER} for a bucket listing, so a
   * benchmark can tell input requests from output and stats requests. Sorted by kind.
   */
  public Map<String, Integer> requestsByKind() {
    Map<String, Integer> counts = new TreeMap<>();
    requestsByKind.forEach((kind, n) -> counts.put(kind, n.get()));
    return counts;
  }

  /**
   * Every request so far, in the order they came: method and target ({@code /bucket/key?query}),
   * for a benchmark to break its counts down further than {@link #requestsByKind}.
   */
  public List<String> requestLines() {
    return List.copyOf(requestLines);
  }

  /** Forgets the tally of {@link #requestsByKind}, {@link #requestLines} and {@link #requestCount}. */
  public void resetCounts() {
    requestLines.clear();
    requestsByKind.clear();
    mostUnderWay.set(0);
    requests.set(0);
  }

  /** The most requests forwarded at once (sent to the store and not yet answered in full). */
  public int mostUnderWay() {
    return mostUnderWay.get();
  }

  /** Requests seen, failed or forwarded. */
  public int requestCount() {
    return requests.get();
  }

  public int injectedFailureCount() {
    return injected.get();
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(server);
    openSockets.forEach(FaultInjectingProxy::closeQuietly);
    connections.shutdownNow();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = server.accept();
        openSockets.add(client);
        connections.execute(() -> serve(client));
      } catch (IOException e) {
        if (!closed) {
          LOG.log(System.Logger.Level.DEBUG, "fault proxy: accept failed", e);
        }
      }
    }
  }

  /** One client connection: requests in sequence (keep-alive), over one upstream connection. */
  private void serve(Socket client) {
    Socket upstreamSocket = null;
    try (client) {
      InputStream fromClient = new BufferedInputStream(client.getInputStream());
      OutputStream toClient = new BufferedOutputStream(client.getOutputStream());
      while (!closed) {
        HttpMessage request = HttpMessage.readHead(fromClient);
        if (request == null) {
          return;
        }
        int seen = requests.incrementAndGet();
        openWindowAt(seen);
        requestsByKind
            .computeIfAbsent(kindOf(request), k -> new AtomicInteger())
            .incrementAndGet();
        String requestLine = request.method() + " " + request.target();
        requestLines.add(requestLine);
        if (down) {
          injected.incrementAndGet();
          return; // hang up unanswered: the store is gone
        }
        if (shouldFail()) {
          injected.incrementAndGet();
          answerSlowDown(request, fromClient, toClient);
          return; // the 503 says Connection: close
        }
        if (upstreamSocket == null || upstreamSocket.isClosed()) {
          upstreamSocket = connectUpstream();
        }
        mostUnderWay.accumulateAndGet(underWay.incrementAndGet(), Math::max);
        boolean keepAlive;
        try {
          keepAlive = forward(request, fromClient, toClient, upstreamSocket);
        } finally {
          underWay.decrementAndGet();
        }
        if (trips(requestLine)) {
          whenDown.run();
        }
        if (!keepAlive) {
          return;
        }
      }
    } catch (IOException e) {
      // A client or store that hangs up mid-message; the client sees a broken connection, as it
      // would with a real store.
      LOG.log(System.Logger.Level.DEBUG, "fault proxy: connection ended", e);
    } finally {
      openSockets.remove(client);
      if (upstreamSocket != null) {
        openSockets.remove(upstreamSocket);
        closeQuietly(upstreamSocket);
      }
    }
  }

  /**
   * @return whether the client connection can carry another request
   */
  private boolean forward(
      HttpMessage request, InputStream fromClient, OutputStream toClient, Socket upstreamSocket)
      throws IOException {
    InputStream fromUpstream = upstreamSocket.getInputStream();
    OutputStream toUpstream = new BufferedOutputStream(upstreamSocket.getOutputStream());
    boolean expectContinue = request.headerContains("Expect", "100-continue");
    // We answer 100-continue ourselves and send the store a plain request: simpler than relaying
    // interim responses, and the SDK does not sign the Expect header.
    request.without("Expect").writeHead(toUpstream);
    if (expectContinue) {
      toClient.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      toClient.flush();
    }
    request.copyRequestBody(fromClient, toUpstream);
    toUpstream.flush();

    HttpMessage response = HttpMessage.readHead(fromUpstream);
    while (response != null && response.status() < 200) {
      response = HttpMessage.readHead(fromUpstream); // stray interim responses: not for the client
    }
    if (response == null) {
      throw new IOException(
          "The store closed the connection without answering " + request.startLine());
    }
    long delay = responseDelayNanos;
    if (delay > 0) {
      Polling.pause(Duration.ofNanos(delay));
    }
    response.writeHead(toClient);
    boolean bodyUntilClose = response.copyResponseBody(request.method(), fromUpstream, toClient);
    toClient.flush();
    if (response.wantsClose() || bodyUntilClose) {
      closeQuietly(upstreamSocket);
    }
    return !(request.wantsClose() || response.wantsClose() || bodyUntilClose);
  }

  private void answerSlowDown(HttpMessage request, InputStream fromClient, OutputStream toClient)
      throws IOException {
    if (!request.headerContains("Expect", "100-continue")) {
      request.copyRequestBody(
          fromClient, null); // read it so the client sees our answer, not a reset
    }
    String requestId = "fault-" + injected.get();
    String xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
            + "<Resource>"
            + xmlEscape(request.target())
            + "</Resource>"
            + "<RequestId>"
            + requestId
            + "</RequestId></Error>";
    byte[] body =
        request.method().equals("HEAD") ? new byte[0] : xml.getBytes(StandardCharsets.UTF_8);
    String head =
        "HTTP/1.1 503 Slow Down\r\n"
            + "Content-Type: application/xml\r\n"
            + "Content-Length: "
            + body.length
            + "\r\n"
            + "x-amz-request-id: "
            + requestId
            + "\r\n"
            + "Connection: close\r\n\r\n";
    toClient.write(head.getBytes(StandardCharsets.ISO_8859_1));
    toClient.write(body);
    toClient.flush();
  }

  /** Begins the window armed by {@link #failFor(Duration, int)} at its request. */
  private synchronized void openWindowAt(int request) {
    Duration window = failWindow;
    if (window != null && request >= failWindowFrom) {
      failWindow = null;
      failFor(window);
    }
  }

  /** Whether this answered request begins the armed outage (only one request does). */
  private synchronized boolean trips(String requestLine) {
    Predicate<String> trigger = downAfter;
    if (trigger == null || !trigger.test(requestLine)) {
      return false;
    }
    downAfter = null;
    down = true;
    wentDown = true;
    return true;
  }

  private boolean shouldFail() {
    Long until = failUntilNanos;
    if (until != null && System.nanoTime() - until < 0) {
      return true;
    }
    return failuresLeft.getAndUpdate(left -> Math.max(left - 1, 0)) > 0;
  }

  private Socket connectUpstream() throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress(upstream.getHost(), upstream.getPort()), 5_000);
    socket.setSoTimeout(120_000);
    openSockets.add(socket);
    return socket;
  }

  /** See {@link #requestsByKind}: path-style targets, {@code /bucket/key?query}. */
  static String kindOf(HttpMessage request) {
    String target = request.target();
    int query = target.indexOf('?');
    String path = query < 0 ? target : target.substring(0, query);
    String[] parts = path.split("/", 4); // "", bucket, first folder, rest
    if (parts.length <= 2 || parts[2].isEmpty()) {
      String prefix = "";
      if (query >= 0) {
        for (String param : target.substring(query + 1).split("&")) {
          if (param.startsWith("prefix=")) {
            String value = java.net.URLDecoder.decode(param.substring(7), StandardCharsets.UTF_8);
            int slash = value.indexOf('/');
            prefix = slash < 0 ? value : value.substring(0, slash);
          }
        }
      }
      return request.method() + " list:" + prefix;
    }
    return request.method() + " " + parts[2];
  }

  private static String xmlEscape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static void closeQuietly(java.io.Closeable closeable) {
    try {
      closeable.close();
    } catch (IOException e) {
      // Closing is best effort; the socket is unusable either way.
    }
  }
}
