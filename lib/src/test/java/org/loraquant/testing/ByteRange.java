package org.loraquant.testing;

/** One read a test observed: {@code length} bytes at {@code position} of {@code location}. */
public record ByteRange(String location, long position, long length) {}
