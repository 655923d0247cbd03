package org.loraquant.cli;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.options.UsageException;

/**
 * Entry point of {@code bin/loraquant}. Errors are one line on stderr and a non-zero exit code;
 * {@code --stacktrace} (anywhere on the line) adds the stack trace.
 */
public final class Main {
  /** Exit code for a refused input or failed run. */
  public static final int EXIT_FAILED = 1;

  /** Exit code for a malformed command line. */
  public static final int EXIT_USAGE = 2;

  private Main() {}

  static Map<String, Command> commands() {
    Map<String, Command> commands = new LinkedHashMap<>();
    List<Command> all =
        List.of(
            new InspectCommand(),
            new CompressCommand(),
            new DecompressCommand(),
            new GenerateFleetCommand(),
            new RecompressCommand(),
            new ReportCommand());
    for (Command c : all) {
      commands.put(c.name(), c);
    }
    return commands;
  }

  /**
   * netlib warns through java.util.logging, on every start, that its optional implementations
   * (native BLAS, the Vector API one) are absent before it falls back to the next; held here so
   * the level set on it is not garbage-collected away.
   */
  private static final Logger NETLIB_LOG = Logger.getLogger("dev.ludovic.netlib");

  public static void main(String[] args) {
    NETLIB_LOG.setLevel(Level.SEVERE);
    System.exit(run(List.of(args), System.out, System.err));
  }

  /** Runs a command line and returns the exit code; never calls System.exit (tests call this). */
  public static int run(List<String> argv, PrintStream out, PrintStream err) {
    List<String> args = new ArrayList<>(argv);
    boolean stacktrace = args.remove("--stacktrace");
    Map<String, Command> commands = commands();
    if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("help")) {
      usage(commands, args.isEmpty() ? err : out);
      return args.isEmpty() ? EXIT_USAGE : 0;
    }
    Command command = commands.get(args.get(0));
    if (command == null) {
      err.println("loraquant: unknown command '" + args.get(0) + "'");
      usage(commands, err);
      return EXIT_USAGE;
    }
    try {
      return command.run(args.subList(1, args.size()), out, err);
    } catch (UsageException e) {
      err.println("loraquant " + command.name() + ": " + e.getMessage());
      return EXIT_USAGE;
    } catch (LoraQuantException e) {
      err.println("loraquant " + command.name() + ": " + e.getMessage());
      if (stacktrace) {
        e.printStackTrace(err);
      }
      return EXIT_FAILED;
    } catch (UncheckedIOException e) {
      // A storage failure; its message names the path and the reason (see IoErrors).
      err.println("loraquant " + command.name() + ": " + e.getMessage());
      if (stacktrace) {
        e.printStackTrace(err);
      }
      return EXIT_FAILED;
    } catch (Exception e) {
      err.println("loraquant " + command.name() + ": " + e);
      if (stacktrace) {
        e.printStackTrace(err);
      }
      return EXIT_FAILED;
    }
  }

  private static void usage(Map<String, Command> commands, PrintStream to) {
    to.println("usage: loraquant COMMAND [ARGS] [--stacktrace]");
    for (Command c : commands.values()) {
      to.printf("  %-16s %s%n", c.name(), c.summary());
    }
  }
}
