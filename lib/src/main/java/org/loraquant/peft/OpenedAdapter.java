package org.loraquant.peft;

import java.io.Serializable;
import org.loraquant.io.FileIO;
import org.loraquant.io.InputFile;

/**
 * What opening an adapter read from storage, kept so that it can be opened again anywhere without
 * a single request: the config's bytes, the safetensors header's bytes (without the length
 * prefix) and the weights file's length. The job's open stage makes one per adapter and it
 * travels with the plan to the layer tasks and to assembly; {@link PeftAdapterReader#reopen}
 * parses and checks it again, which costs microseconds, not a round trip.
 *
 * <p>A few kilobytes: 0.15 KB of header per tensor plus the config.
 *
 * @param folder the adapter folder, without a trailing '/'
 */
public record OpenedAdapter(
    String folder, byte[] configBytes, byte[] headerBytes, long weightsLength)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public String configPath() {
    return folder + "/" + AdapterConfig.FILE_NAME;
  }

  public String weightsPath() {
    return folder + "/" + PeftAdapterReader.WEIGHTS_FILE;
  }

  /** The weights file through {@code io}, its length known (no request to learn it). */
  public InputFile weightsFile(FileIO io) {
    return io.newInputFile(weightsPath(), weightsLength);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof OpenedAdapter other
        && folder.equals(other.folder)
        && java.util.Arrays.equals(configBytes, other.configBytes)
        && java.util.Arrays.equals(headerBytes, other.headerBytes)
        && weightsLength == other.weightsLength;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(
        folder,
        java.util.Arrays.hashCode(configBytes),
        java.util.Arrays.hashCode(headerBytes),
        weightsLength);
  }

  @Override
  public String toString() {
    return "OpenedAdapter[" + folder + ", " + carriedBytes() + " bytes, weights " + weightsLength
        + "]";
  }

  /** Bytes this object carries. */
  public long carriedBytes() {
    return configBytes.length + headerBytes.length;
  }
}
