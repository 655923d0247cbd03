"""``python -m loraquant decompress SRC DST [--dtype same|f32|f16|bf16]`` and
``python -m loraquant inspect PATH [--json]``, mirroring ``bin/loraquant``.

Errors are one line on stderr (``loraquant COMMAND: problem``); exit code 1 for a refused input,
2 for a malformed command line.
"""

import sys

from . import adapter, inspection
from .peft_writer import DTYPES, decompress
from .errors import LoraQuantError

EXIT_FAILED = 1
EXIT_USAGE = 2
USAGE = """usage: python -m loraquant COMMAND [ARGS]
  decompress       SRC DST [--dtype same|f32|f16|bf16]  back to a standard PEFT adapter
  inspect          PATH [--json]  list a compressed adapter's settings, layers and totals"""


class UsageError(Exception):
    pass


def _decompress(args, out):
    positionals, dtype = [], "same"
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--dtype":
            if i + 1 >= len(args):
                raise UsageError("--dtype needs a value")
            dtype = args[i + 1]
            i += 2
            continue
        if arg.startswith("--dtype="):
            dtype = arg[len("--dtype="):]
        elif arg.startswith("--"):
            raise UsageError(f"unknown option {arg}")
        else:
            positionals.append(arg)
        i += 1
    if len(positionals) != 2:
        raise UsageError("expected SRC DST, got " + (" ".join(positionals) or "nothing"))
    if dtype.lower() not in DTYPES:
        raise UsageError(f"--dtype: unknown dtype '{dtype}'; choose same, f32, f16 or bf16")
    compressed = decompress(positionals[0], positionals[1], dtype)
    print(f"decompressed {positionals[0]} -> {positionals[1]}: {len(compressed.layers)} LoRA layers,"
          f" {len(compressed.pass_through)} pass-through tensors", file=out)


def _inspect(args, out):
    as_json, path = False, None
    for arg in args:
        if arg == "--json":
            as_json = True
        elif arg.startswith("--"):
            raise UsageError(f"unknown option {arg}")
        elif path is None:
            path = arg
        else:
            raise UsageError(f"expected one PATH, got '{path}' and '{arg}'")
    if path is None:
        raise UsageError("missing PATH (a compressed adapter folder or its loraquant_model.safetensors)")
    r = inspection.report(adapter.read(path))
    if as_json:
        print(inspection.json_text(r), file=out)
    else:
        for line in inspection.text_lines(r):
            print(line, file=out)


COMMANDS = {"decompress": _decompress, "inspect": _inspect}


def main(argv=None, out=None, err=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if not argv or argv[0] in ("--help", "-h", "help"):
        print(USAGE, file=out if argv else err)
        return 0 if argv else EXIT_USAGE
    command = COMMANDS.get(argv[0])
    if command is None:
        print(f"loraquant: unknown command '{argv[0]}'", file=err)
        print(USAGE, file=err)
        return EXIT_USAGE
    try:
        command(argv[1:], out)
        return 0
    except UsageError as e:
        print(f"loraquant {argv[0]}: {e}", file=err)
        return EXIT_USAGE
    except (LoraQuantError, OSError, ValueError) as e:
        print(f"loraquant {argv[0]}: " + " ".join(str(e).split()), file=err)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
