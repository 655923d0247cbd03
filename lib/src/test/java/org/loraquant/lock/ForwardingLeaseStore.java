package org.loraquant.lock;

import java.io.IOException;
import java.util.List;

/** Passes every call to another store; a test overrides the calls it makes fail or wait. */
class ForwardingLeaseStore implements LeaseStore {
  private final LeaseStore inner;

  ForwardingLeaseStore(LeaseStore inner) {
    this.inner = inner;
  }

  @Override
  public String location() {
    return inner.location();
  }

  @Override
  public List<Entry> list() throws IOException {
    return inner.list();
  }

  @Override
  public byte[] read(String name) throws IOException {
    return inner.read(name);
  }

  @Override
  public void write(String name, byte[] content) throws IOException {
    inner.write(name, content);
  }

  @Override
  public void delete(String name) throws IOException {
    inner.delete(name);
  }
}
