"""Reads LoRAQuant compressed adapters (format versions 1 and 2) without a JVM.

- ``load(path)``: the reconstructed lora_A / lora_B under their PEFT names plus every
  pass-through tensor, as numpy arrays (or torch tensors with ``framework="pt"``);
- ``decompress(src, dst, dtype="same")``: a standard PEFT folder, byte-identical to what
  ``bin/loraquant decompress`` writes;
- ``python -m loraquant decompress|inspect``: the same from the command line.

``path`` / ``src`` is a local folder, its ``loraquant_model.safetensors``, or an fsspec URL
(``s3://...`` with ``pip install 'loraquant[s3]'``).
"""

import numpy as np

from . import adapter as _reader
from . import floats as _floats
from .peft_writer import decompress, factors as _factors, resolve_dtype as _resolve_dtype
from .errors import IncompleteAdapterError, InvalidAdapterError, LoraQuantError

__all__ = ["load", "decompress", "read", "LoraQuantError", "InvalidAdapterError", "IncompleteAdapterError"]
__version__ = "0.1.0"

read = _reader.read

_NUMPY = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": "<i2", "U16": "<u2", "F16": "<f2",
          "I32": "<i4", "U32": "<u4", "F32": "<f4", "I64": "<i8", "U64": "<u8", "F64": "<f8",
          "F8_E4M3": np.uint8, "F8_E5M2": np.uint8}


def load(path, framework="np", dtype="same"):
    """The adapter's PEFT state dict: name -> array.

    lora_A / lora_B are the reconstructed factors with their source shapes, in ``dtype`` (``same``,
    ``f32``, ``f16``, ``bf16``) rounded exactly as ``decompress`` rounds them. numpy has no
    bfloat16: with ``framework="np"`` BF16 tensors come as float32 arrays holding the bfloat16
    values (exact), and F8 pass-through tensors as their raw uint8 bytes. ``framework="pt"`` gives
    torch tensors of the true dtype (torch must be installed).
    """
    if framework not in ("np", "numpy", "pt", "torch"):
        raise ValueError(f"unknown framework '{framework}'; choose np or pt")
    torch_out = framework in ("pt", "torch")
    _resolve_dtype(dtype, "F32")
    compressed = _reader.read(path)
    out = {}
    for layer in compressed.layers:
        for name, out_dtype, shape, values in _factors(layer, dtype):
            out[name] = _factor(values.reshape(shape), out_dtype, torch_out)
    for info, data in compressed.pass_through:
        out[info.name] = _stored(info, data, torch_out)
    return out


def _factor(values, dtype, torch_out):
    if dtype == "F32":
        bits = None
    elif dtype == "F16":
        bits = _floats.to_f16_bits(values).reshape(values.shape)
    else:
        bits = _floats.to_bf16_bits(values).reshape(values.shape)
    if not torch_out:
        if bits is None:
            return values
        if dtype == "F16":
            return bits.view(np.float16)
        return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)
    import torch
    if bits is None:
        return torch.from_numpy(values)
    return torch.from_numpy(bits.view(np.int16)).view(torch.float16 if dtype == "F16" else torch.bfloat16)


def _stored(info, data, torch_out):
    if info.dtype == "BF16":
        bits = np.frombuffer(data, dtype="<u2").reshape(info.shape)
        if torch_out:
            import torch
            return torch.from_numpy(bits.astype(np.int16)).view(torch.bfloat16)
        return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)
    array = np.frombuffer(data, dtype=_NUMPY[info.dtype]).reshape(info.shape).copy()
    if not torch_out:
        return array
    import torch
    if info.dtype in ("F8_E4M3", "F8_E5M2"):
        return torch.from_numpy(array).view(torch.float8_e4m3fn if info.dtype == "F8_E4M3" else torch.float8_e5m2)
    return torch.from_numpy(array)
