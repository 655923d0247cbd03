"""Reads a compressed adapter folder (format version 1 or 2) as the Java CompressedAdapterReader does.

Refuses, naming the file and the tensor: a folder without its manifest (incomplete), another format
or version, files naming different versions, malformed JSON, a missing, mis-typed or mis-sized tensor, tiers that do not cover the
kept components, a version 2 layer whose CRC-32C does not match, source shapes that do not match the
layer, tensors the layout does not have.
"""

from dataclasses import dataclass

from . import jackson, storage
from .errors import IncompleteAdapterError, InvalidAdapterError
from .budget_layer import part_name, read_budget_layer
from .layer import is_layer_tensor, module_of_layer_tensor, read_layer
from .safetensors_file import LORA_FLOAT_DTYPES, SafetensorsFile, json_type, parse_dtype

FORMAT_NAME = "loraquant"
FORMAT_VERSION = 1  # the paper mode's
BUDGET_FORMAT_VERSION = 2  # the budget mode's: per-component widths, level family, CRC-32C per layer
KNOWN_VERSIONS = (FORMAT_VERSION, BUDGET_FORMAT_VERSION)
CONFIG_MODE = "mode"
MODE_BUDGET = "budget"
CONFIG_FILE = "adapter_config.json"
MODEL_FILE = "loraquant_model.safetensors"
MANIFEST_FILE = "loraquant_manifest.json"
CONFIG_BLOCK = "loraquant"
META_FORMAT = "format"
META_FORMAT_VERSION = "format_version"
META_MODULES = "loraquant.modules"
META_SOURCE_METADATA = "loraquant.source_metadata"
METADATA_KEY = "__metadata__"
# Most zero-component values (layers of rank above k) an adapter may ask decompression to add: 2^24
# (64 MiB as F32), as the Java reader. Real adapters need a few thousand.
MAX_ZERO_PADDING_VALUES = 1 << 24
# Format version 2: the zeros of dropped components (width 0, one byte of the width map each, m + n zeros
# on decoding) total at most MAX_ZERO_PADDING_VALUES plus this many per byte of the model file, as the Java
# reader (CompressedAdapterReader.MAX_DROPPED_ZEROS_PER_FILE_BYTE, docs/FORMAT.md "What a reader checks").
MAX_DROPPED_ZEROS_PER_FILE_BYTE = 256


@dataclass
class SourceFactors:
    """The source lora_A / lora_B names, dtypes and shapes of one module."""
    lora_a: str
    dtype_a: str
    shape_a: tuple
    lora_b: str
    dtype_b: str
    shape_b: tuple


@dataclass
class Layer:
    module: str
    source: SourceFactors
    layer: object  # layer.CompressedLayer


@dataclass
class CompressedAdapter:
    folder: str
    config: dict  # the source adapter_config.json without the loraquant block
    codec: dict  # the loraquant block without quant_method, format_version, model_file
    source_metadata: dict
    layers: list
    pass_through: list  # (TensorInfo, bytes) in data-area order
    manifest: dict
    model: SafetensorsFile
    format_version: int = FORMAT_VERSION


def folder_of(path):
    """The folder of ``path``, which may also name the folder's model file."""
    path = storage.without_trailing_slash(path)
    if path.endswith("/" + MODEL_FILE):
        return path[:-len(MODEL_FILE) - 1]
    return "." if path == MODEL_FILE else path


def read(path):
    """Reads and checks the whole compressed adapter at ``path`` (a folder or its model file)."""
    folder = folder_of(path)
    io = storage.for_path(folder)
    manifest = read_manifest(io, folder)
    manifest_path = folder + "/" + MANIFEST_FILE
    version = manifest["format_version"]
    config_path = folder + "/" + CONFIG_FILE
    model_path = folder + "/" + MODEL_FILE
    _require_file(io, config_path)
    _require_file(io, model_path)
    config = _parse_object(config_path, _read_small_file(io, config_path))
    block = config.pop(CONFIG_BLOCK, None)
    if not isinstance(block, dict):
        raise InvalidAdapterError(config_path, None, f"no '{CONFIG_BLOCK}' block: this is not a loraquant"
                                  " compressed adapter")
    block_where = f'{config_path} "{CONFIG_BLOCK}"'
    _require_same_version(block_where, _check_format(block_where, block.get("quant_method"),
                                                     block.get("format_version"), "quant_method" in block,
                                                     "format_version" in block), version, manifest_path)
    codec = {k: v for k, v in block.items() if k not in ("quant_method", "format_version", "model_file")}

    model_data = io.read(model_path)
    file_bytes = len(model_data)
    model = SafetensorsFile(model_path, model_data)
    _require_same_version(model_path + " __metadata__", _check_metadata_format(model_path, model.metadata),
                          version, manifest_path)
    modules = _metadata_object(model_path, model.metadata, META_MODULES)
    source_metadata = _metadata_object(model_path, model.metadata, META_SOURCE_METADATA)
    for key, value in source_metadata.items():
        if not isinstance(value, str):
            raise InvalidAdapterError(f"{model_path} __metadata__[{META_SOURCE_METADATA}]", None,
                                      f"value of '{key}' is {json_type(value)}, expected a string")
    layers = []
    source_names = set()
    zero_padding = 0
    dropped_zeros = 0
    dropped_zeros_allowed = MAX_ZERO_PADDING_VALUES + MAX_DROPPED_ZEROS_PER_FILE_BYTE * file_bytes
    for module, entry in modules.items():
        source = _source_factors(model_path, module, entry)
        for name in (source.lora_a, source.lora_b):
            if name in source_names:
                raise InvalidAdapterError(f"{model_path} __metadata__[{META_MODULES}]", module,
                                          f"LoRA factor name '{name}' is used twice")
            source_names.add(name)
        if version == BUDGET_FORMAT_VERSION:
            layer = read_budget_layer(module, model, model_path)
            dropped = layer.k - layer.kept()
            dropped_zeros += dropped * (layer.m + layer.n)
            if dropped_zeros > dropped_zeros_allowed:
                raise InvalidAdapterError(model_path, part_name(module, "widths"), f"{dropped} dropped components"
                                          " (width 0) bring the zeros decoded without stored data to"
                                          f" {dropped_zeros} values, more than the {dropped_zeros_allowed} a reader"
                                          f" accepts from this {file_bytes}-byte file ({MAX_ZERO_PADDING_VALUES} +"
                                          f" {MAX_DROPPED_ZEROS_PER_FILE_BYTE} per byte)")
        else:
            layer = read_layer(module, model, model_path)
        _check_source_shapes(model_path, module, source, layer)
        zero_padding += layer.zero_padding_values()
        if zero_padding > MAX_ZERO_PADDING_VALUES:
            raise InvalidAdapterError(model_path, layer.meta_tensor, f"rank {layer.rank} above the layer's"
                                      f" k={layer.k} components asks for zero components that bring the adapter's"
                                      f" total to {zero_padding} values, more than the {MAX_ZERO_PADDING_VALUES}"
                                      " a reader accepts without stored data behind them")
        layers.append(Layer(module, source, layer))
    pass_through = _pass_through(model, model_path, modules, layers)
    # The mode key says which codec wrote the folder: it must agree with the version (v1 has none).
    mode = codec.get(CONFIG_MODE)
    mode_version = BUDGET_FORMAT_VERSION if mode == MODE_BUDGET else FORMAT_VERSION
    if mode_version != version:
        raise InvalidAdapterError(block_where, None, f"'{CONFIG_MODE}' is {_shown(mode, CONFIG_MODE in codec)} in a"
                                  f" format version {version} folder (version {BUDGET_FORMAT_VERSION} has"
                                  f' "{CONFIG_MODE}": "{MODE_BUDGET}", version {FORMAT_VERSION} no such key)')
    return CompressedAdapter(folder, config, codec, source_metadata, layers, pass_through, manifest, model,
                             version)


def _require_same_version(where, found, manifest_version, manifest_path):
    """The three version fields of a folder (manifest, config block, model metadata) must agree."""
    if found != manifest_version:
        raise InvalidAdapterError(where, None, f"format version {found}, but {manifest_path} says version"
                                  f" {manifest_version}: the folder mixes two writers")


def read_manifest(io, folder):
    """The manifest, parsed, after checking its format and version."""
    path = folder + "/" + MANIFEST_FILE
    if not io.exists(path):
        raise _missing_manifest(io, folder, path)
    root = _parse_object(path, _read_small_file(io, path))
    _check_format(path, root.get("format"), root.get("format_version"), "format" in root,
                  "format_version" in root)
    return root


def _missing_manifest(io, folder, path):
    names = io.list(folder)
    if not names and not io.exists(folder):
        return InvalidAdapterError(folder, None, "no such compressed adapter folder")
    # An empty folder or one with our model file is what an interrupted writer leaves.
    if not names or MODEL_FILE in names:
        return IncompleteAdapterError(path, None, f"missing: {folder} is not a complete compressed adapter"
                                      " (written by an interrupted run?); compress again")
    hint = " (a plain PEFT adapter? compress it first)" if CONFIG_FILE in names else ""
    return InvalidAdapterError(folder, None, f"not a loraquant compressed adapter: it has no {MANIFEST_FILE}"
                               f" and no {MODEL_FILE}{hint}")


def _require_file(io, path):
    if not io.exists(path):
        raise InvalidAdapterError(path, None, "missing from the compressed adapter folder")


def _read_small_file(io, path):
    size = io.size(path)
    if size > storage.MAX_SMALL_FILE_BYTES:
        raise InvalidAdapterError(path, None, f"{size} bytes is too large for a JSON file")
    return io.read(path)


def _parse_object(where, data):
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        node = jackson.parse(text, strict_duplicates=True)  # a repeated key is refused, never resolved
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidAdapterError(where, None, "malformed JSON: " + " ".join(str(e).split())) from None
    if not isinstance(node, dict):
        raise InvalidAdapterError(where, None, "expected a JSON object")
    return node


def _shown(node, present):
    """A JSON node as Java prints it: its JSON text, or ``null`` when absent."""
    return jackson.compact(node) if present else "null"


def _check_format(where, fmt, version, fmt_present, version_present):
    """The JSON form (config block, manifest): format a string, format_version the integer 1 or 2.
    Returns the version."""
    if not isinstance(fmt, str) or fmt != FORMAT_NAME:
        raise InvalidAdapterError(where, None, f"format is {_shown(fmt, fmt_present)}, expected"
                                  f' "{FORMAT_NAME}": not a loraquant compressed adapter')
    if isinstance(version, bool) or not isinstance(version, int) or version not in KNOWN_VERSIONS:
        raise _unsupported_version(where, _shown(version, version_present))
    return version


def _check_metadata_format(model_path, meta):
    """The safetensors form: __metadata__ values are strings, exactly "1" or "2". Returns the version."""
    where = model_path + " __metadata__"
    fmt = meta.get(META_FORMAT)
    if fmt != FORMAT_NAME:
        shown = "missing" if fmt is None else f"'{fmt}'"
        raise InvalidAdapterError(where, None, f"format is {shown}, expected '{FORMAT_NAME}': not a loraquant"
                                  " compressed adapter")
    version = meta.get(META_FORMAT_VERSION)
    for known in KNOWN_VERSIONS:
        if version == str(known):
            return known
    raise _unsupported_version(where, "missing" if version is None else f"'{version}'")


def _unsupported_version(where, found):
    return InvalidAdapterError(where, None, f"unsupported format version {found}; this version of loraquant"
                               f" reads versions {FORMAT_VERSION} and {BUDGET_FORMAT_VERSION} (a newer loraquant"
                               " wrote it?)")


def _metadata_object(model_path, meta, key):
    where = f"{model_path} __metadata__[{key}]"
    text = meta.get(key)
    if text is None:
        raise InvalidAdapterError(where, None, "missing")
    return _parse_object(where, text)


def _source_factors(file, module, entry):
    where = f"{file} __metadata__[{META_MODULES}]"
    entry = entry if isinstance(entry, dict) else {}  # as Jackson's get() on a non-object: nothing

    def text(key):
        v = entry.get(key)
        if not isinstance(v, str):
            raise InvalidAdapterError(where, module, f"missing string '{key}'")
        if v == METADATA_KEY:
            raise InvalidAdapterError(where, module, f"'{key}' is '{METADATA_KEY}', which safetensors reserves for"
                                      " metadata")
        return v

    def dtype(key):
        d = parse_dtype(text(key))
        if d not in LORA_FLOAT_DTYPES:
            raise InvalidAdapterError(where, module, f"'{key}' is {jackson.compact(entry[key])}, expected F32,"
                                      " F16 or BF16")
        return d

    def shape(key):
        v = entry.get(key)
        if not isinstance(v, list) or len(v) < 2:
            raise InvalidAdapterError(where, module, f"'{key}' must be an array of at least 2 dimensions")
        for d in v:
            if isinstance(d, bool) or not isinstance(d, int) or d < 0 or d >= 1 << 63:
                raise InvalidAdapterError(where, module, f"'{key}' has a bad dimension {jackson.compact(d)}"
                                          " (expected a non-negative integer)")
        return tuple(v)

    return SourceFactors(text("lora_A"), dtype("dtype_A"), shape("shape_A"),
                         text("lora_B"), dtype("dtype_B"), shape("shape_B"))


def _product(values):
    out = 1
    for v in values:
        out *= v
    return out


def _check_source_shapes(file, module, s, layer):
    """The source shapes must multiply out to the layer's m x rank and rank x n."""
    a, b = s.shape_a, s.shape_b
    if b[0] != layer.m or b[1] != layer.rank or _product(b[2:]) != 1 or a[0] != layer.rank \
            or _product(a[1:]) != layer.n:
        raise InvalidAdapterError(f"{file} __metadata__[{META_MODULES}]", module,
                                  f"shape_A {_java_list(a)} / shape_B {_java_list(b)} do not match the layer's"
                                  f" meta m={layer.m} n={layer.n} rank={layer.rank}")


def _java_list(values):
    return "[" + ", ".join(str(v) for v in values) + "]"


def _pass_through(model, model_path, modules, layers):
    """Every tensor that is not part of a layer; a layer tensor must be one its layout has."""
    layer_tensors = set()
    source_names = set()
    for l in layers:
        layer_tensors.update(l.layer.tensor_names)
        source_names.add(l.source.lora_a)
        source_names.add(l.source.lora_b)
    out = []
    for t in model.tensors:
        if not is_layer_tensor(t.name):
            if t.name in source_names:
                raise InvalidAdapterError(model_path, t.name, "stored as a pass-through tensor but also named as"
                                          f" a LoRA factor in {META_MODULES}")
            out.append((t, model.data(t)))
        elif module_of_layer_tensor(t.name) not in modules:
            raise InvalidAdapterError(model_path, t.name, f"layer tensor of a module that {META_MODULES} does"
                                      " not list")
        elif t.name not in layer_tensors:
            raise InvalidAdapterError(model_path, t.name, "not part of its layer's layout (e.g. a tier beyond"
                                      " the meta's tier count)")
    return out
