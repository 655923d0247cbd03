package org.loraquant.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.loraquant.options.Flags;
import org.loraquant.options.UsageException;
import org.loraquant.report.NightlyReport;

/**
 * {@code report --stats URI --out FILE}: the nightly HTML report of a stats table
 * ({@link NightlyReport}, docs/REPORT.md).
 */
final class ReportCommand implements Command {
  @Override
  public String name() {
    return "report";
  }

  @Override
  public String summary() {
    return "--stats URI --out FILE   one self-contained HTML page: the latest night, failures,"
        + " bits vs error, worst layers, drift";
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) {
    Flags flags = Flags.parse(args, Set.of("--stats", "--out"), Set.of());
    if (!flags.positionals().isEmpty()) {
      throw new UsageException("unexpected argument '" + flags.positionals().get(0) + "'");
    }
    String stats = flags.requiredString("--stats");
    String target = flags.requiredString("--out");
    NightlyReport.write(stats, target, new Configuration());
    out.println("report written to " + target);
    return 0;
  }
}
