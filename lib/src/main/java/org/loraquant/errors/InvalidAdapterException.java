package org.loraquant.errors;

/**
 * The input is not something we accept: malformed, truncated, not LoRA, inconsistent. A user
 * error, never retried. The message names the file, the tensor when there is one, and the problem.
 */
public class InvalidAdapterException extends LoraQuantException {
  private static final long serialVersionUID = 1L;

  private final String file;
  private final String tensor;

  public InvalidAdapterException(String file, String tensor, String problem) {
    super(format(file, tensor, problem));
    this.file = file;
    this.tensor = tensor;
  }

  public InvalidAdapterException(String file, String tensor, String problem, Throwable cause) {
    super(format(file, tensor, problem), cause);
    this.file = file;
    this.tensor = tensor;
  }

  public static InvalidAdapterException of(String file, String problem) {
    return new InvalidAdapterException(file, null, problem);
  }

  /** The file at fault, or null for factors handed over without one ({@link #inFactors}). */
  public String file() {
    return file;
  }

  /** The tensor at fault, or null when the problem is not about one tensor. */
  public String tensor() {
    return tensor;
  }

  /**
   * A fault found in factors handed over without a file (the codec's own API): the message is the
   * problem alone, which names the factor. Readers check their files first and name them.
   */
  public static InvalidAdapterException inFactors(String problem) {
    return new InvalidAdapterException(null, null, problem);
  }

  private static String format(String file, String tensor, String problem) {
    if (file == null) {
      return tensor == null ? problem : "tensor '" + printable(tensor) + "': " + problem;
    }
    return tensor == null
        ? printable(file) + ": " + problem
        : printable(file) + ": tensor '" + printable(tensor) + "': " + problem;
  }

  /**
   * {@code text} with control characters and unpaired UTF-16 surrogates written as Java escapes
   * (backslash-n for a newline, backslash-u and four hex digits for the others), so a hostile file
   * or tensor name cannot break the one-line message or smuggle terminal control codes into it.
   */
  public static String printable(String text) {
    if (text == null) {
      return null;
    }
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean pairedSurrogate =
          Character.isHighSurrogate(c)
                  && i + 1 < text.length()
                  && Character.isLowSurrogate(text.charAt(i + 1))
              || Character.isLowSurrogate(c)
                  && i > 0
                  && Character.isHighSurrogate(text.charAt(i - 1));
      boolean escape =
          Character.isISOControl(c) || (Character.isSurrogate(c) && !pairedSurrogate);
      if (escape && out == null) {
        out = new StringBuilder(text.length() + 8).append(text, 0, i);
      }
      if (out != null) {
        if (!escape) {
          out.append(c);
        } else if (c == '\n') {
          out.append("\\n");
        } else if (c == '\t') {
          out.append("\\t");
        } else if (c == '\r') {
          out.append("\\r");
        } else {
          out.append(String.format("\\u%04x", (int) c));
        }
      }
    }
    return out == null ? text : out.toString();
  }
}
