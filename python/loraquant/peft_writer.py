"""Gives a compressed adapter back its standard PEFT form, byte-identical to the Java decompress."""

import os
import shutil
import time
import uuid

from . import adapter as reader
from . import floats, jackson, storage
from .errors import LoraQuantError
from .safetensors_writer import SafetensorsWriter

WEIGHTS_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
DTYPES = ("same", "f32", "f16", "bf16")
STAGING_MARKER = ".loraquant-staging-"
# The Java decompress's marker (AdapterDecompressor.MARKER_FILE, same bytes): it tells a later
# `decompress --overwrite` that this folder is a decompressed output it may replace, never an
# original adapter.
MARKER_FILE = ".loraquant_decompressed"
MARKER_BYTES = b"written by loraquant decompress; a later decompress --overwrite may replace this folder\n"


def resolve_dtype(dtype, source):
    """The dtype of a decompressed factor: the source's for ``same``, else the one asked for."""
    if not isinstance(dtype, str) or dtype.lower() not in DTYPES:
        raise ValueError(f"unknown dtype '{dtype}'; choose same, f32, f16 or bf16")
    return source if dtype.lower() == "same" else dtype.upper()


def factors(layer, dtype):
    """(name, dtype, shape, float32 values) of lora_B then lora_A, as decompression writes them."""
    b, a = layer.layer.factors()
    s = layer.source
    return [(s.lora_b, resolve_dtype(dtype, s.dtype_b), s.shape_b, b),
            (s.lora_a, resolve_dtype(dtype, s.dtype_a), s.shape_a, a)]


def peft_files(compressed, dtype="same"):
    """adapter_config.json's bytes and adapter_model.safetensors as a SafetensorsWriter."""
    resolve_dtype(dtype, "F32")  # an unknown dtype is refused before any work
    w = SafetensorsWriter()
    for key, value in compressed.source_metadata.items():
        w.metadata(key, value)
    for layer in compressed.layers:
        for name, out_dtype, shape, values in factors(layer, dtype):
            w.add(name, out_dtype, shape, floats.encode(values, out_dtype))
    for info, data in compressed.pass_through:
        w.add(info.name, info.dtype, info.shape, data)
    return jackson.indented(compressed.config).encode("utf-8"), w


def decompress(src, dst, dtype="same"):
    """Writes the PEFT folder ``dst`` (local; must not exist or be empty) from the compressed ``src``.

    The folder is built in a hidden sibling and renamed into place, so a crash never leaves a
    half-written adapter that looks complete. Returns the adapter that was read.
    """
    target = storage.without_trailing_slash(os.fspath(dst))
    if storage.is_url(target):
        raise LoraQuantError(f"{target}: decompress writes to a local folder, not a URL")
    compressed = reader.read(src)
    config, weights = peft_files(compressed, dtype)
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise LoraQuantError(f"{target} exists and is not empty; choose a new output folder")
    parent, name = os.path.split(target)
    # Named as the Java writers name theirs (creation time in ms, then a UUID), so that their
    # stale-staging cleanup recognises a killed Python writer's leftover too.
    staging = os.path.join(parent, "." + name + STAGING_MARKER
                           + str(int(time.time() * 1000)) + "-" + str(uuid.uuid4()))
    try:
        os.makedirs(staging)
        _write(os.path.join(staging, MARKER_FILE), lambda f: f.write(MARKER_BYTES))
        _write(os.path.join(staging, WEIGHTS_FILE), weights.write_to)
        _write(os.path.join(staging, CONFIG_FILE), lambda f: f.write(config))
        if os.path.isdir(target):
            os.rmdir(target)
        os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return compressed


def _write(path, write):
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
