package org.loraquant.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** Ports on 127.0.0.1, the only interface test servers may listen on. */
public final class LoopbackPorts {
  public static final String HOST = "127.0.0.1";

  private LoopbackPorts() {}

  public static InetAddress loopback() {
    try {
      return InetAddress.getByName(HOST);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A port that was free a moment ago. Another process may take it before the caller binds it; the
   * window is short and a clash shows up as a clear bind error in the child's log.
   */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, loopback())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("No free port on " + HOST, e);
    }
  }

  public static boolean isListening(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(loopback(), port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
