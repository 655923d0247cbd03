package org.loraquant.options;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A strictly parsed command line: positional arguments, {@code --name value} (or {@code
 * --name=value}) options and {@code --name} switches. Anything not declared, a repeated option or a
 * missing value is a {@link UsageException} naming it.
 */
public final class Flags {
  private final List<String> positionals = new ArrayList<>();
  private final Map<String, String> values = new LinkedHashMap<>();

  private Flags() {}

  /** Flag names include the leading dashes, e.g. {@code --adapters}. */
  public static Flags parse(List<String> args, Set<String> options, Set<String> switches) {
    Flags flags = new Flags();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (!arg.startsWith("--")) {
        flags.positionals.add(arg);
        continue;
      }
      int eq = arg.indexOf('=');
      String name = eq < 0 ? arg : arg.substring(0, eq);
      String value;
      if (switches.contains(name)) {
        if (eq >= 0) {
          throw new UsageException(name + " takes no value, got '" + arg + "'");
        }
        value = "true";
      } else if (options.contains(name)) {
        if (eq >= 0) {
          value = arg.substring(eq + 1);
        } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
          value = args.get(++i);
        } else {
          throw new UsageException(name + " needs a value");
        }
      } else {
        throw new UsageException("unknown flag " + name);
      }
      if (flags.values.putIfAbsent(name, value) != null) {
        throw new UsageException(name + " given twice");
      }
    }
    return flags;
  }

  public List<String> positionals() {
    return List.copyOf(positionals);
  }

  /** The only positional argument, called {@code what} in messages. */
  public String singlePositional(String what) {
    if (positionals.size() != 1) {
      throw new UsageException(
          "expected one "
              + what
              + ", got "
              + (positionals.isEmpty() ? "none" : String.join(" ", positionals)));
    }
    return positionals.get(0);
  }

  public boolean has(String name) {
    return values.containsKey(name);
  }

  public String string(String name, String defaultValue) {
    return values.getOrDefault(name, defaultValue);
  }

  public String requiredString(String name) {
    String value = values.get(name);
    if (value == null) {
      throw new UsageException(name + " is required");
    }
    return value;
  }

  /** An int option of at least {@code min}; {@code defaultValue} when absent. */
  public int integer(String name, int defaultValue, int min) {
    if (!values.containsKey(name)) {
      return defaultValue;
    }
    return (int) parseLong(name, min, Integer.MAX_VALUE);
  }

  public int requiredInteger(String name, int min) {
    requiredString(name);
    return (int) parseLong(name, min, Integer.MAX_VALUE);
  }

  /** A whole-number option from {@code min} to {@code max}; {@code defaultValue} when absent. */
  public long number(String name, long defaultValue, long min, long max) {
    return values.containsKey(name) ? parseLong(name, min, max) : defaultValue;
  }

  public long longValue(String name, long defaultValue) {
    return values.containsKey(name) ? parseLong(name, Long.MIN_VALUE, Long.MAX_VALUE) : defaultValue;
  }

  private long parseLong(String name, long min, long max) {
    String raw = values.get(name);
    long value;
    try {
      value = Long.parseLong(raw);
    } catch (NumberFormatException e) {
      throw new UsageException(name + " expects a whole number, got '" + raw + "'");
    }
    if (value < min || value > max) {
      throw new UsageException(name + " must be at least " + min + ", got " + raw);
    }
    return value;
  }
}
