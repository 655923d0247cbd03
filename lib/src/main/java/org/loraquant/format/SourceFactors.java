package org.loraquant.format;

import org.loraquant.safetensors.DType;

/**
 * What decompression needs to give a layer back its original PEFT form: the source tensor
 * names, dtypes and shapes of lora_A and lora_B (conv adapters have 4-D shapes).
 */
public record SourceFactors(
    String loraAName, DType dtypeA, long[] shapeA, String loraBName, DType dtypeB, long[] shapeB) {
  public SourceFactors {
    shapeA = shapeA.clone();
    shapeB = shapeB.clone();
  }

  @Override
  public long[] shapeA() {
    return shapeA.clone();
  }

  @Override
  public long[] shapeB() {
    return shapeB.clone();
  }
}
