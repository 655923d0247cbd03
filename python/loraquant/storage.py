"""Where a compressed adapter is read from: a local path, or any fsspec URL (``s3://`` with s3fs).

fsspec is optional: a local path never imports it, and a URL without it installed gets a one-line
error that says what to install.
"""

import os

from .errors import LoraQuantError

MAX_SMALL_FILE_BYTES = 256 * 1024 * 1024  # a JSON file larger than this is refused, as in Java


def without_trailing_slash(path):
    """``path`` without one trailing '/', so that children are ``path + "/" + name``."""
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def is_url(path):
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.isidentifier()


class LocalStorage:
    def exists(self, path):
        return os.path.exists(path)

    def is_dir(self, path):
        return os.path.isdir(path)

    def list(self, path):
        """Names in the folder; empty if it is not a folder."""
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    def size(self, path):
        return os.path.getsize(path)

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()


class FsspecStorage:
    """Any filesystem fsspec knows (s3://, gs://, memory://, file://)."""

    def __init__(self, url):
        try:
            import fsspec
        except ImportError:
            raise LoraQuantError(f"{url}: reading URLs needs fsspec (and s3fs for s3://): "
                                 "pip install 'loraquant[s3]'") from None
        try:
            self.fs, _ = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as e:
            raise LoraQuantError(f"{url}: {e}") from None

    def exists(self, path):
        return self.fs.exists(path)

    def is_dir(self, path):
        return self.fs.isdir(path)

    def list(self, path):
        if not self.fs.isdir(path):
            return []
        return sorted(os.path.basename(p.rstrip("/")) for p in self.fs.ls(path, detail=False))

    def size(self, path):
        return self.fs.size(path)

    def read(self, path):
        return self.fs.cat_file(path)


def for_path(path):
    """The storage that reads ``path``: fsspec for a URL (``s3://``, ``file://``), else the local disk."""
    return FsspecStorage(path) if is_url(path) else LocalStorage()
