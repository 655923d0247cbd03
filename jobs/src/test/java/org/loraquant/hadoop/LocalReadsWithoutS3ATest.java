package org.loraquant.hadoop;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.CodecSettings;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.fleet.ModelShape;
import org.loraquant.io.LocalFileIO;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.spark.stage.JobContext;
import org.loraquant.spark.stage.OpenOutcome;
import org.loraquant.spark.stage.OpenStage;

/**
 * hadoop-aws is a provided dependency, absent where the CLI and the local job run: reading an
 * adapter from a local disk, pinned reads asked for ({@link HadoopFileIO#pinnedTo}), must neither
 * need nor load S3A's classes. Our classes are loaded again by a class loader that refuses every
 * {@code org.apache.hadoop.fs.s3a} class, so any of ours that names one (when it is verified or
 * run) fails there.
 */
class LocalReadsWithoutS3ATest {
  @TempDir Path temp;

  @Test
  void openingAnAdapterOnALocalDiskWithReadsPinnedNeedsNoS3AClass() throws Exception {
    Path in = temp.resolve("in");
    new FleetGenerator(new LocalFileIO(), new FleetGenerator.Options(1, ModelShape.TINY, 8, 3))
        .generate(in.toString());
    WithoutS3A loader = new WithoutS3A(getClass().getClassLoader());
    Class<?> again = loader.loadClass(getClass().getName());
    assertThat(again.getClassLoader()).isSameAs(loader);
    Method open = again.getDeclaredMethod("openLocally", String.class, String.class);
    open.setAccessible(true); // another class loader's package: package access does not reach it

    String outcome =
        (String) open.invoke(null, in.toUri().toString(), temp.resolve("out").toUri().toString());

    assertThat(outcome).isEqualTo("pinned: false, COMPRESSED, layers: 8");
    assertThat(loader.refused).isEmpty();
  }

  /** Runs inside {@link WithoutS3A}: the open stage on a local adapter, as the job runs it. */
  static String openLocally(String inputRoot, String outputRoot) throws IOException {
    HadoopFileIO io = new HadoopFileIO(new Configuration());
    DiscoveredAdapter adapter = AdapterDiscovery.discover(io, inputRoot).get(0);
    JobContext context =
        new JobContext(
            io,
            OutputFileIO.forScheme(io, "file"),
            CodecSettings.defaults(),
            outputRoot,
            "20261207T010000Z-0a1b2c3d",
            LocalDate.of(2026, 12, 7),
            Map.of(adapter.relativePath(), adapter),
            1L << 20);
    OpenOutcome opened = OpenStage.open(context, adapter.relativePath());
    return "pinned: "
        + io.pinsReads(adapter)
        + ", "
        + opened.status()
        + (opened.message() == null ? "" : " " + opened.message())
        + ", layers: "
        + opened.layers().size();
  }

  /**
   * Loads our classes ({@code org.loraquant.*}) itself, from its parent's class files, and
   * refuses S3A's; everything else comes from the parent, as on a classpath without hadoop-aws.
   */
  private static final class WithoutS3A extends ClassLoader {
    final List<String> refused = Collections.synchronizedList(new ArrayList<>());

    WithoutS3A(ClassLoader parent) {
      super(parent);
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      if (name.startsWith("org.apache.hadoop.fs.s3a.")) {
        refused.add(name);
        throw new ClassNotFoundException(name + " (no hadoop-aws on this class path)");
      }
      if (!name.startsWith("org.loraquant.")) {
        return super.loadClass(name, resolve);
      }
      synchronized (getClassLoadingLock(name)) {
        Class<?> c = findLoadedClass(name);
        if (c == null) {
          byte[] bytes;
          try (InputStream in = getParent().getResourceAsStream(name.replace('.', '/') + ".class")) {
            if (in == null) {
              throw new ClassNotFoundException(name);
            }
            bytes = in.readAllBytes();
          } catch (IOException e) {
            throw new ClassNotFoundException(name, e);
          }
          c = defineClass(name, bytes, 0, bytes.length);
        }
        if (resolve) {
          resolveClass(c);
        }
        return c;
      }
    }
  }
}
