package org.loraquant.errors;

/**
 * The adapter looks like an upload still in progress (config without weights, a file shorter
 * than its header declares). Not a failure: a later run picks it up.
 */
public class IncompleteAdapterException extends InvalidAdapterException {
  private static final long serialVersionUID = 1L;

  public IncompleteAdapterException(String file, String tensor, String problem) {
    super(file, tensor, problem);
  }
}
