package org.loraquant.peft;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import org.loraquant.errors.InvalidAdapterException;

/**
 * A PEFT {@code adapter_config.json}. The whole JSON tree is kept, so keys this version does not
 * know (newer PEFT releases keep adding some) are written back unchanged by {@link #toJson}. The
 * typed accessors are checked once, when the config is parsed.
 */
public final class AdapterConfig {
  public static final String FILE_NAME = "adapter_config.json";

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(SerializationFeature.INDENT_OUTPUT);

  private final String location;
  private final ObjectNode tree;

  private AdapterConfig(String location, ObjectNode tree) {
    this.location = location;
    this.tree = tree;
  }

  /**
   * Parses and checks a config.
   *
   * @param location the file, for messages
   * @throws InvalidAdapterException if the JSON is malformed or a known key has the wrong type
   */
  public static AdapterConfig parse(String location, byte[] json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      String at =
          e.getLocation() == null
              ? ""
              : " at line "
                  + e.getLocation().getLineNr()
                  + ", column "
                  + e.getLocation().getColumnNr();
      throw new InvalidAdapterException(
          location, null, "malformed JSON" + at + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new InvalidAdapterException(location, null, "malformed JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw InvalidAdapterException.of(
          location,
          "expected a JSON object, found " + (root == null ? "nothing" : root.getNodeType()));
    }
    checkNumbersFitADouble(location, json);
    AdapterConfig config = new AdapterConfig(location, (ObjectNode) root);
    config.validate();
    return config;
  }

  /**
   * Refuses a fractional number a double cannot hold: {@code 1e400} would be read as Infinity and
   * written back as the string "Infinity", {@code 1e-400} as 0; either silently changes the
   * config (Python's json module, which PEFT uses, does the same). Integers of any size are kept
   * exactly, and ordinary decimals round to the nearest double as they do in Python.
   */
  public static void checkNumbersFitADouble(String location, byte[] json) {
    try (JsonParser parser = JSON.getFactory().createParser(json)) {
      for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
        if (token != JsonToken.VALUE_NUMBER_FLOAT) {
          continue;
        }
        double value = parser.getDoubleValue();
        String text = parser.getText();
        boolean zeroLiteral = text.split("[eE]")[0].chars().noneMatch(c -> c >= '1' && c <= '9');
        if (!Double.isFinite(value) || (value == 0 && !zeroLiteral)) {
          String key = parser.getParsingContext().pathAsPointer().toString();
          throw InvalidAdapterException.of(
              location,
              "'"
                  + (key.startsWith("/") ? key.substring(1) : key)
                  + "' is "
                  + text
                  + ", which a 64-bit float cannot hold (it would be read as "
                  + value
                  + "); write a number between 1e-308 and 1e308 in magnitude");
        }
      }
    } catch (IOException e) {
      // The tree parse above succeeded on the same bytes.
      throw new IllegalStateException(e);
    }
  }

  /** Runs every typed accessor once so a wrongly typed value fails at parse time, not later. */
  private void validate() {
    peftType();
    r();
    loraAlpha();
    useRslora();
    useDora();
    targetModules();
    fanInFanOut();
    modulesToSave();
    baseModelNameOrPath();
  }

  /** The file this config came from. */
  public String location() {
    return location;
  }

  /** A copy of the whole JSON tree, unknown keys included. */
  public ObjectNode tree() {
    return tree.deepCopy();
  }

  /** {@code peft_type}, e.g. {@code LORA}; empty if missing or null. */
  public Optional<String> peftType() {
    return Optional.ofNullable(text("peft_type"));
  }

  /** {@code r}, the default rank; empty if missing or null. */
  public OptionalInt r() {
    JsonNode v = present("r");
    if (v == null) {
      return OptionalInt.empty();
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw wrongType("r", "an integer", v);
    }
    return OptionalInt.of(v.intValue());
  }

  /** {@code lora_alpha}; empty if missing or null. PEFT allows ints and floats. */
  public OptionalDouble loraAlpha() {
    JsonNode v = present("lora_alpha");
    if (v == null) {
      return OptionalDouble.empty();
    }
    if (!v.isNumber()) {
      throw wrongType("lora_alpha", "a number", v);
    }
    return OptionalDouble.of(v.doubleValue());
  }

  /** {@code use_rslora}; missing or null means false (older PEFT versions omit it). */
  public boolean useRslora() {
    return flag("use_rslora");
  }

  /** {@code use_dora}; missing or null means false. */
  public boolean useDora() {
    return flag("use_dora");
  }

  /** {@code fan_in_fan_out}; missing or null means false. */
  public boolean fanInFanOut() {
    return flag("fan_in_fan_out");
  }

  /**
   * {@code target_modules}: a list of names, or a single string (which PEFT treats as a regular
   * expression, see {@link #targetModulesIsPattern}). Empty if missing or null.
   */
  public List<String> targetModules() {
    return stringOrList("target_modules");
  }

  /** True when {@code target_modules} is one string, which PEFT matches as a full regex. */
  public boolean targetModulesIsPattern() {
    JsonNode v = present("target_modules");
    return v != null && v.isTextual();
  }

  /** {@code modules_to_save}; empty if missing or null. */
  public List<String> modulesToSave() {
    return stringOrList("modules_to_save");
  }

  /** {@code base_model_name_or_path}; empty if missing or null. */
  public Optional<String> baseModelNameOrPath() {
    return Optional.ofNullable(text("base_model_name_or_path"));
  }

  /** The config as pretty-printed JSON, every key kept, in the original order. */
  public String toJson() {
    try {
      return JSON.writeValueAsString(tree) + "\n";
    } catch (JsonProcessingException e) {
      // Cannot happen for a tree Jackson parsed itself.
      throw new IllegalStateException(e);
    }
  }

  private JsonNode present(String key) {
    JsonNode v = tree.get(key);
    return v == null || v.isNull() ? null : v;
  }

  private String text(String key) {
    JsonNode v = present(key);
    if (v == null) {
      return null;
    }
    if (!v.isTextual()) {
      throw wrongType(key, "a string", v);
    }
    return v.textValue();
  }

  private boolean flag(String key) {
    JsonNode v = present(key);
    if (v == null) {
      return false;
    }
    if (!v.isBoolean()) {
      throw wrongType(key, "true, false or null", v);
    }
    return v.booleanValue();
  }

  private List<String> stringOrList(String key) {
    JsonNode v = present(key);
    if (v == null) {
      return List.of();
    }
    if (v.isTextual()) {
      return List.of(v.textValue());
    }
    if (!v.isArray()) {
      throw wrongType(key, "a string or a list of strings", v);
    }
    List<String> out = new ArrayList<>();
    for (JsonNode item : v) {
      if (!item.isTextual()) {
        throw wrongType(key, "a string or a list of strings", v);
      }
      out.add(item.textValue());
    }
    return List.copyOf(out);
  }

  private InvalidAdapterException wrongType(String key, String expected, JsonNode found) {
    return InvalidAdapterException.of(
        location,
        "'" + key + "' must be " + expected + ", found " + found.getNodeType() + " " + found);
  }
}
