package org.loraquant.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.loraquant.codec.LoraFactors;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;

/**
 * The floor under the nightly job's throughput: read and decode every LoRA layer of a local fleet
 * to float32, as the job's layer tasks do, and compress nothing. {@code bin/bench-job} runs it next
 * to the job. Usage: {@code ReadDecodeFloor FLEET_DIR THREADS}; prints one line, {@code floor
 * threads=T bytes=B seconds=S mb_per_s=R}.
 */
public final class ReadDecodeFloor {
  private ReadDecodeFloor() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    int threads = Integer.parseInt(args[1]);
    List<Path> adapters;
    try (Stream<Path> files = Files.walk(root)) {
      adapters =
          files
              .filter(p -> p.getFileName().toString().equals("adapter_config.json"))
              .map(Path::getParent)
              .filter(
                  p ->
                      !root.relativize(p).toString().contains("/.")
                          && !root.relativize(p).toString().startsWith("."))
              .sorted()
              .toList();
    }
    LocalFileIO io = new LocalFileIO();
    List<LayerRef> layers = new ArrayList<>();
    for (Path dir : adapters) {
      PeftAdapter adapter = PeftAdapterReader.open(io, dir.toString());
      for (LoraModule module : adapter.modules()) {
        layers.add(new LayerRef(dir, module.module()));
      }
    }
    AtomicLong bytes = new AtomicLong();
    AtomicLong checksum = new AtomicLong();
    long start = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<?>> done = new ArrayList<>();
    // Each thread opens the header per layer, like a task that starts on a new adapter: a bound.
    for (LayerRef ref : layers) {
      done.add(
          pool.submit(
              () -> {
                PeftAdapter adapter = PeftAdapterReader.open(io, ref.dir().toString());
                LoraModule module = adapter.module(ref.module());
                LoraFactors factors = PeftAdapterReader.readFactors(adapter, module);
                bytes.addAndGet(module.bytes());
                checksum.addAndGet(
                    Float.floatToIntBits(factors.a()[0]) + Float.floatToIntBits(factors.b()[0]));
                return null;
              }));
    }
    for (Future<?> f : done) {
      f.get();
    }
    pool.shutdown();
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "floor threads=%d layers=%d bytes=%d seconds=%.2f mb_per_s=%.1f (checksum %d)%n",
        threads,
        layers.size(),
        bytes.get(),
        seconds,
        bytes.get() / 1e6 / seconds,
        checksum.get());
  }

  private record LayerRef(Path dir, String module) {}
}
