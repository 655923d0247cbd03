package org.loraquant.cli;

import java.io.PrintStream;
import java.util.List;
import org.loraquant.options.UsageException;

/** One subcommand of {@code bin/loraquant}. */
interface Command {
  /** The word that selects it, e.g. {@code inspect}. */
  String name();

  /** One line for the usage text. */
  String summary();

  /**
   * Runs the command. Returns the process exit code. User errors are thrown as {@link
   * org.loraquant.errors.LoraQuantException} or {@link UsageException}; {@link Main} prints them
   * as one line.
   */
  int run(List<String> args, PrintStream out, PrintStream err) throws Exception;
}
