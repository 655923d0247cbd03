package org.loraquant.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.loraquant.errors.InvalidAdapterException;

/** The manifest's format_version is the integer 1 exactly, whatever a 64-bit read would make of it. */
class CompressionManifestTest {
  private static byte[] manifest(String version) {
    return ("{\"format\": \"loraquant\", \"format_version\": " + version + ", \"settings_fingerprint\": \"s\","
        + " \"input_fingerprint\": null, \"run\": {}, \"layers\": []}").getBytes(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @ValueSource(strings = {"18446744073709551617", "36893488147419103233", "1.0", "\"1\""})
  void versionThatIsNotExactlyOneIsRefused(String version) {
    assertThatThrownBy(() -> CompressionManifest.parse("m.json", manifest(version)))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage("m.json: unsupported format_version " + version + "; this version of loraquant reads version 1");
  }

  @ParameterizedTest
  @ValueSource(strings = {"1", "1 "})
  void versionOneIsRead(String version) {
    assertThat(CompressionManifest.parse("m.json", manifest(version)).layers()).isEmpty();
  }
}
