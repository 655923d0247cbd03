package org.loraquant.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.loraquant.errors.InvalidAdapterException;

class AdapterConfigTest {
  private static final String FILE = "a/adapter_config.json";

  private static AdapterConfig parse(String json) {
    return AdapterConfig.parse(FILE, json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void typedAccessors() {
    AdapterConfig c =
        parse(
            "{\"peft_type\":\"LORA\",\"r\":16,\"lora_alpha\":32,\"use_rslora\":true,\"use_dora\":false,"
                + "\"target_modules\":[\"q_proj\",\"v_proj\"],\"fan_in_fan_out\":true,"
                + "\"modules_to_save\":[\"classifier\",\"score\"],\"base_model_name_or_path\":\"gpt2\"}");
    assertThat(c.peftType()).hasValue("LORA");
    assertThat(c.r()).hasValue(16);
    assertThat(c.loraAlpha()).hasValue(32.0);
    assertThat(c.useRslora()).isTrue();
    assertThat(c.useDora()).isFalse();
    assertThat(c.targetModules()).containsExactly("q_proj", "v_proj");
    assertThat(c.targetModulesIsPattern()).isFalse();
    assertThat(c.fanInFanOut()).isTrue();
    assertThat(c.modulesToSave()).containsExactly("classifier", "score");
    assertThat(c.baseModelNameOrPath()).hasValue("gpt2");
    assertThat(c.location()).isEqualTo(FILE);
  }

  @Test
  void nullAndMissingKeysTakePeftDefaults() {
    AdapterConfig c =
        parse(
            "{\"peft_type\":\"LORA\",\"use_rslora\":null,\"modules_to_save\":null,\"base_model_name_or_path\":null}");
    assertThat(c.useRslora()).isFalse();
    assertThat(c.useDora()).isFalse();
    assertThat(c.fanInFanOut()).isFalse();
    assertThat(c.r()).isEmpty();
    assertThat(c.loraAlpha()).isEmpty();
    assertThat(c.targetModules()).isEmpty();
    assertThat(c.modulesToSave()).isEmpty();
    assertThat(c.baseModelNameOrPath()).isEmpty();
  }

  @Test
  void targetModulesAsOneStringIsAPattern() {
    AdapterConfig c = parse("{\"target_modules\":\".*(q|v)_proj\"}");
    assertThat(c.targetModules()).containsExactly(".*(q|v)_proj");
    assertThat(c.targetModulesIsPattern()).isTrue();
  }

  @Test
  void unknownKeysRoundTripUnchanged() throws Exception {
    String json =
        "{\"alora_invocation_tokens\":null,\"peft_type\":\"LORA\",\"target_parameters\":[\"x\",{\"y\":1.5}],"
            + "\"r\":8,\"rank_pattern\":{},\"layer_replication\":[[0,4],[2,5]],\"lora_alpha\":16.5}";
    AdapterConfig c = parse(json);
    ObjectMapper mapper = new ObjectMapper();
    assertThat(mapper.readTree(c.toJson())).isEqualTo(mapper.readTree(json));
    assertThat(c.toJson())
        .startsWith("{\n  \"alora_invocation_tokens\" : null,\n  \"peft_type\" : \"LORA\"");
    assertThat(c.tree().fieldNames())
        .toIterable()
        .containsExactly(
            "alora_invocation_tokens",
            "peft_type",
            "target_parameters",
            "r",
            "rank_pattern",
            "layer_replication",
            "lora_alpha");
  }

  @Test
  void treeIsACopy() {
    AdapterConfig c = parse("{\"r\":8}");
    c.tree().put("r", 99);
    assertThat(c.r()).hasValue(8);
  }

  @Test
  void malformedJsonNamesFileAndLocation() {
    assertThatThrownBy(() -> parse("{\"r\": 8\n\"lora_alpha\": 16}"))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": malformed JSON at line 2, column 1: Unexpected character ('\"' (code 34)):"
                + " was expecting comma to separate Object entries");
  }

  @Test
  void nonObjectIsRefused() {
    assertThatThrownBy(() -> parse("[]"))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": expected a JSON object, found ARRAY");
  }

  @Test
  void wronglyTypedKnownKeysFailAtParseTime() {
    assertThatThrownBy(() -> parse("{\"r\":\"eight\"}"))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": 'r' must be an integer, found STRING \"eight\"");
    assertThatThrownBy(() -> parse("{\"use_rslora\":\"yes\"}"))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": 'use_rslora' must be true, false or null, found STRING \"yes\"");
    assertThatThrownBy(() -> parse("{\"target_modules\":[\"q\",3]}"))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": 'target_modules' must be a string or a list of strings, found ARRAY"
                + " [\"q\",3]");
    assertThatThrownBy(() -> parse("{\"peft_type\":1}"))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(FILE + ": 'peft_type' must be a string, found NUMBER 1");
  }

  @Test
  void numbersADoubleCannotHoldAreRefusedNotRewritten() {
    // 1e400 used to come back from toJson() as the string "Infinity", 1e-400 as 0.0.
    assertThatThrownBy(() -> parse("{\"peft_type\":\"LORA\",\"lora_alpha\":1e400}"))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessage(
            FILE
                + ": 'lora_alpha' is 1e400, which a 64-bit float cannot hold (it would be read as"
                + " Infinity); write a number between 1e-308 and 1e308 in magnitude");
    assertThatThrownBy(() -> parse("{\"future\":{\"eps\":[1, -1e-400]}}"))
        .isExactlyInstanceOf(InvalidAdapterException.class)
        .hasMessageStartingWith(FILE + ": 'future/eps/1' is -1e-400, which a 64-bit float cannot");
    // Zeros, ordinary decimals and integers of any size are fine, and integers round-trip exactly.
    AdapterConfig c =
        parse("{\"a\":0.0,\"b\":-0e10,\"c\":1e-300,\"d\":123456789012345678901234567890}");
    assertThat(c.toJson()).contains("123456789012345678901234567890");
  }
}
