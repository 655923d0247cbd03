package org.loraquant.testing;

import org.apache.hadoop.conf.Configuration;

/**
 * S3Proxy with a {@link FaultInjectingProxy} in front, and the Hadoop configuration whose S3A
 * goes through the proxy: the store of tests that count S3A's requests or break them.
 */
public final class S3BehindFaultProxy implements AutoCloseable {
  private final S3ProxyServer store;
  private final FaultInjectingProxy proxy;

  private S3BehindFaultProxy(S3ProxyServer store, FaultInjectingProxy proxy) {
    this.store = store;
    this.proxy = proxy;
  }

  public static S3BehindFaultProxy start() {
    S3ProxyServer store = S3ProxyServer.start();
    try {
      return new S3BehindFaultProxy(store, FaultInjectingProxy.start(store.endpoint()));
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
  }

  public S3ProxyServer store() {
    return store;
  }

  public FaultInjectingProxy proxy() {
    return proxy;
  }

  /** A new bucket, its name unique and starting with {@code prefix}. */
  public String newBucket(String prefix) {
    String bucket = S3aSettings.uniqueBucket(prefix);
    store.createBucket(bucket);
    return bucket;
  }

  /** A fresh Hadoop configuration whose S3A requests go through the proxy. */
  public Configuration hadoopConfiguration() {
    return S3aSettings.hadoopConfiguration(proxy.endpoint());
  }

  @Override
  public void close() {
    try {
      proxy.close();
    } finally {
      store.close();
    }
  }
}
