package org.loraquant.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One line of output: its kind, the module or tensor it is about (none for the totals), and
 * named fields in order. Text puts the subject bare after the kind and the fields as
 * {@code name=value} (a shape or a list as {@code [4,768]}, a JSON value as its text); JSON puts
 * the subject under {@code subjectKey}.
 */
record InspectLine(String kind, String subjectKey, String subject,
    Map<String, Object> fields) {
  private static final ObjectMapper JSON = new ObjectMapper();

  String text() {
    StringBuilder text = new StringBuilder(kind);
    if (subject != null) {
      text.append(' ').append(subject);
    }
    fields.forEach((name, value) -> text.append(' ').append(name).append('=').append(text(value)));
    return text.toString();
  }

  private static String text(Object value) {
    if (value instanceof long[] shape) {
      return Arrays.toString(shape).replace(" ", "");
    }
    if (value instanceof List<?> list) {
      return list.toString().replace(" ", "");
    }
    if (value instanceof JsonNode node) {
      return node.isValueNode() ? node.asText() : node.toString();
    }
    return String.valueOf(value);
  }

  ObjectNode json() {
    ObjectNode o = JSON.createObjectNode();
    o.put("kind", kind);
    o.setAll(fieldsJson());
    return o;
  }

  /** The subject and the fields, without the kind: one element of a JSON document's arrays. */
  ObjectNode fieldsJson() {
    ObjectNode o = JSON.createObjectNode();
    if (subject != null) {
      o.put(subjectKey, subject);
    }
    fields.forEach((name, value) -> o.set(name, JSON.valueToTree(value)));
    return o;
  }
}
