package org.loraquant.s3;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.AppenderRef;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

/**
 * Everything logged through log4j (Spark, Hadoop, the AWS SDK, the job) at INFO and above while
 * open, messages and stack traces, as text. The console keeps its own level (WARN), so the test
 * prints no more than usual.
 */
final class CapturedLog implements AutoCloseable {
  private final StringBuffer text = new StringBuffer();
  private final LoggerContext context = (LoggerContext) LogManager.getContext(false);
  private final LoggerConfig root = context.getConfiguration().getRootLogger();
  private final Level rootLevel = root.getLevel();
  private final List<AppenderRef> consoleRefs = List.copyOf(root.getAppenderRefs());
  private final Appender appender =
      new AbstractAppender("capture", null, null, true, Property.EMPTY_ARRAY) {
        @Override
        public void append(LogEvent event) {
          StringWriter line = new StringWriter();
          line.append(event.getLoggerName()).append(": ")
              .append(event.getMessage().getFormattedMessage()).append('\n');
          if (event.getThrown() != null) {
            event.getThrown().printStackTrace(new PrintWriter(line));
          }
          text.append(line);
        }
      };

  CapturedLog() {
    Configuration config = context.getConfiguration();
    // Pin the console's appender refs at their old level before the root logger lets INFO in.
    for (AppenderRef ref : consoleRefs) {
      Appender console = config.getAppender(ref.getRef());
      root.removeAppender(ref.getRef());
      root.addAppender(console, rootLevel, null);
    }
    appender.start();
    root.addAppender(appender, Level.INFO, null);
    root.setLevel(Level.INFO);
    context.updateLoggers();
  }

  String text() {
    return text.toString();
  }

  @Override
  public void close() {
    root.removeAppender(appender.getName());
    Configuration config = context.getConfiguration();
    for (AppenderRef ref : consoleRefs) {
      Appender console = config.getAppender(ref.getRef());
      root.removeAppender(ref.getRef());
      root.addAppender(console, ref.getLevel(), ref.getFilter());
    }
    root.setLevel(rootLevel);
    context.updateLoggers();
    appender.stop();
  }
}
