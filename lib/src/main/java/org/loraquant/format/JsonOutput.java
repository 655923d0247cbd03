package org.loraquant.format;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The JSON written into adapter folders. Jackson's default pretty printer ends lines with the
 * platform's separator, which would make the same adapter give different bytes on Windows; this
 * one always uses '\n', so output (and the golden files) are the same everywhere.
 */
public final class JsonOutput {
  private JsonOutput() {}

  /** A mapper that indents by two spaces and ends every line with '\n'. */
  public static ObjectMapper indented() {
    // Arrays stay on one line, as Jackson's default prints them.
    DefaultPrettyPrinter printer =
        new DefaultPrettyPrinter().withObjectIndenter(new DefaultIndenter("  ", "\n"));
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    mapper.setDefaultPrettyPrinter(printer);
    return mapper;
  }
}
