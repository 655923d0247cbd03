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

  /** The file at fault. */
  public String file() {
    return file;
  }

  /** The tensor at fault, or null when the problem is not about one tensor. */
  public String tensor() {
    return tensor;
  }

  private static String format(String file, String tensor, String problem) {
    return tensor == null ? file + ": " + problem : file + ": tensor '" + tensor + "': " + problem;
  }
}
