"""JSON text exactly as the Java side's Jackson writes it, so Python output is byte-identical.

Jackson differs from Python's ``json`` module in three visible ways: doubles are printed by Java's
``Double.toString`` (``1.0E-5``, ``100.0``), control characters use upper-case ``\\u00XX``
escapes, and the pretty printer puts ``" : "`` between key and value, keeps arrays on one line
(``[ 1, 2 ]``) and prints empty containers as ``{ }`` / ``[ ]``.
"""

import decimal
import json
import math

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def java_double(x):
    """``Double.toString(x)``: plain decimals for 1e-3 <= |x| < 1e7, else ``d.dddE<exp>``."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign, digit_tuple, exponent = decimal.Decimal(repr(x)).as_tuple()
    digits = "".join(map(str, digit_tuple))
    while len(digits) > 1 and digits.endswith("0"):
        digits = digits[:-1]
        exponent += 1
    point = len(digits) + exponent  # |x| = 0.<digits> * 10^point
    prefix = "-" if sign else ""
    if 1e-3 <= abs(x) < 1e7:
        if point <= 0:
            return prefix + "0." + "0" * (-point) + digits
        if point >= len(digits):
            return prefix + digits + "0" * (point - len(digits)) + ".0"
        return prefix + digits[:point] + "." + digits[point:]
    fraction = digits[1:] or "0"
    return prefix + digits[0] + "." + fraction + "E" + str(point - 1)


def string(s):
    """A JSON string literal as Jackson writes it (non-ASCII kept as UTF-8)."""
    out = ['"']
    for ch in s:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04X" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return string(java_double(value))  # Jackson quotes non-numeric numbers
        return java_double(value)
    if isinstance(value, str):
        return string(value)
    raise TypeError(f"not a JSON value: {value!r}")


def compact(value):
    """``ObjectMapper.writeValueAsString``: no whitespace at all."""
    if isinstance(value, dict):
        return "{" + ",".join(string(k) + ":" + compact(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(compact(v) for v in value) + "]"
    return _scalar(value)


def indented(value):
    """The project's ``JsonOutput.indented()``: two-space objects, one-line arrays, '\\n' endings."""
    parts = []
    _indented(value, 0, parts)
    return "".join(parts)


def _indented(value, nesting, out):
    if isinstance(value, dict):
        if not value:
            out.append("{ }")
            return
        out.append("{")
        first = True
        for k, v in value.items():
            out.append("\n" if first else ",\n")
            first = False
            out.append("  " * (nesting + 1) + string(k) + " : ")
            _indented(v, nesting + 1, out)
        out.append("\n" + "  " * nesting + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[ ]")
            return
        out.append("[ ")
        for i, v in enumerate(value):
            if i:
                out.append(", ")
            _indented(v, nesting, out)  # arrays are inline: they do not indent what they hold
        out.append(" ]")
    else:
        out.append(_scalar(value))


class DuplicateKeyError(ValueError):
    pass


def _reject_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKeyError(f"duplicate field '{k}'")
        out[k] = v
    return out


def _keep_last(pairs):
    return dict(pairs)


def _no_constants(name):
    raise ValueError(f"non-standard token '{name}'")


def parse(text, strict_duplicates=False):
    """Parses JSON as the Java side does: no NaN/Infinity tokens; duplicates refused if strict."""
    return json.loads(text, object_pairs_hook=_reject_duplicates if strict_duplicates else _keep_last,
                      parse_constant=_no_constants)
