package org.loraquant.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Set;
import org.loraquant.compress.AdapterDecompressor;
import org.loraquant.compress.OutputDType;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.io.FileIO;
import org.loraquant.io.OwnedFolder;
import org.loraquant.options.Flags;
import org.loraquant.options.UsageException;

/**
 * {@code decompress IN_DIR OUT_DIR [--dtype same|f32|f16|bf16] [--trim-rank]}: writes a standard
 * PEFT adapter (same tensor names, shapes and config; with {@code --trim-rank} each layer at the
 * rank it stores, config {@code r}, {@code rank_pattern} and {@code alpha_pattern} to match) with
 * the reconstructed factors B^ and A^, and the
 * marker {@code .loraquant_decompressed} that lets a later {@code --overwrite} recognise it. What
 * OUT may be: {@link OutputFolderRule}.
 */
final class DecompressCommand implements Command {
  @Override
  public String name() {
    return "decompress";
  }

  @Override
  public String summary() {
    return "IN_DIR OUT_DIR [--dtype same|f32|f16|bf16] [--trim-rank] [--overwrite]  back to a standard PEFT adapter";
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    Flags flags = Flags.parse(args, Set.of("--dtype"), Set.of("--overwrite", "--trim-rank"));
    List<String> dirs = flags.positionals();
    if (dirs.size() != 2) {
      throw new UsageException("expected IN_DIR OUT_DIR, got " + (dirs.isEmpty() ? "nothing" : String.join(" ", dirs)));
    }
    OutputDType dtype;
    try {
      dtype = OutputDType.parse(flags.string("--dtype", "same"));
    } catch (IllegalArgumentException e) {
      throw new UsageException("--dtype: " + e.getMessage());
    }
    FileIO outIo = PathStorage.forPath(dirs.get(1));
    OutputFolderRule.check(
        dirs.get(0), dirs.get(1), outIo, AdapterDecompressor.LAYOUT, flags.has("--overwrite"));
    CompressedAdapterReader.Loaded loaded =
        CompressedAdapterReader.read(PathStorage.forPath(dirs.get(0)), dirs.get(0));
    OwnedFolder.removeStaleStaging(outIo, dirs.get(1));
    AdapterDecompressor.write(outIo, dirs.get(1), loaded.adapter(), dtype, flags.has("--trim-rank"));
    out.printf("decompressed %s -> %s: %d LoRA layers, %d pass-through tensors%n",
        dirs.get(0), dirs.get(1), loaded.adapter().layers().size(), loaded.adapter().passThrough().size());
    return 0;
  }
}
