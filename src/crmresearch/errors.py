"""Exceptions shared by every module.

A ``DataError`` is what a user sees when their input is wrong: its message says which file,
column and row, what is wrong and how to fix it. The CLI prints it as one line and exits 2.
"""


class DataError(ValueError):
    """Input data cannot be used as given. The message names the file/column/row and the fix."""
