package org.loraquant.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.loraquant.codec.CodecSetting;
import org.loraquant.options.JobSetting;

/**
 * The commands' usage lines are built from the settings' declarations ({@link CodecSetting},
 * {@link JobSetting}) and read as they did when they were spelled out by hand.
 */
class UsageLinesTest {
  @Test
  void compressNamesTheCodecFlagsWithoutTheFleetScope() {
    assertThat(new CompressCommand().summary())
        .isEqualTo("IN_DIR OUT_DIR [--rho R] [--bits-high B] [--group-size G] [--split prefix|reference]"
            + " [--refine none|search] [--budget B [--budget-scope layer|adapter] [--levels uniform|lloyd-max]"
            + " [--refit N]] [--stats FILE] [--overwrite]  compress one adapter");
  }

  @Test
  void recompressNamesTheJobFlags() {
    assertThat(new RecompressCommand().summary())
        .isEqualTo("--input URI --output URI --stats URI [codec flags] [--settings FILE] [--force]"
            + " [--max-failed N] [--report URI] [--master URL] [--conf K=V]... [--properties-file FILE]"
            + "  the nightly job on local Spark");
  }
}
