package org.loraquant.compress;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.loraquant.codec.CompressedLayer;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.SourceFactors;
import org.loraquant.safetensors.DType;

/** Decompression refuses an output it cannot build before decoding anything. */
class AdapterDecompressorTest {

  /** One layer of m x n and the given rank with no stored components (k = 0, as m or n = 0 allows). */
  private static CompressedAdapter adapter(int m, int n, int rank) {
    SourceFactors source = new SourceFactors("x.lora_A.weight", DType.F32, new long[] {rank, n},
        "x.lora_B.weight", DType.F32, new long[] {m, rank});
    return new CompressedAdapter(JsonNodeFactory.instance.objectNode(), JsonNodeFactory.instance.objectNode(),
        Map.of(), List.of(new CompressedAdapter.Layer("x", source, new CompressedLayer(m, n, rank, 0, 0, List.of()))),
        List.of());
  }

  @Test
  void weightsFileLargerThanOneArrayIsRefusedBeforeDecoding() {
    // m x rank = 2^31 values: decoding used to overflow int (NegativeArraySizeException).
    assertThatThrownBy(() -> AdapterDecompressor.decompress(adapter(1 << 30, 0, 2), OutputDType.SAME))
        .isExactlyInstanceOf(LoraQuantException.class)
        .hasMessage("the decompressed adapter_model.safetensors would hold 8589934592 bytes of tensors, more than the "
            + AdapterDecompressor.MAX_WEIGHTS_BYTES + " bytes decompression can write in one file;"
            + " a 16-bit --dtype (f16, bf16) makes it smaller");
  }

  @Test
  void sixteenBitOutputThatIsStillTooLarge() {
    assertThatThrownBy(() -> AdapterDecompressor.decompress(adapter(0, 1 << 29, 4), OutputDType.BF16))
        .isExactlyInstanceOf(LoraQuantException.class)
        .hasMessage("the decompressed adapter_model.safetensors would hold 4294967296 bytes of tensors, more than the "
            + AdapterDecompressor.MAX_WEIGHTS_BYTES + " bytes decompression can write in one file");
  }
}
