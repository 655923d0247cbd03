"""Errors of the reader: one line naming the file, the tensor when there is one, and the problem.

The messages follow the Java reader's (``org.loraquant.errors.InvalidAdapterException``), so an
operator sees the same refusal whichever side read the file.
"""


class LoraQuantError(Exception):
    """Root of the package's errors."""


class InvalidAdapterError(LoraQuantError):
    """The input is not something we accept: malformed, truncated, inconsistent, another format."""

    def __init__(self, file, tensor, problem):
        self.file = file
        self.tensor = tensor
        self.problem = problem
        message = f"{file}: {problem}" if tensor is None else f"{file}: tensor '{tensor}': {problem}"
        super().__init__(message)


class IncompleteAdapterError(InvalidAdapterError):
    """The file or folder is shorter than it declares, or a writer was interrupted."""
