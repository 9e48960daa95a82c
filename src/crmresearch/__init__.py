"""crmresearch: customer classification research for CRM.

The data flows one way, one module per step::

    data -> features -> index -> tiers -> compare / loss -> strategy
    plots (figures for every step); reports (papermill + nbconvert); cli

See ``README.md`` for the quick start.
"""

from importlib.metadata import PackageNotFoundError, version

from crmresearch.errors import DataError

try:
    __version__ = version("crmresearch")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["DataError", "__version__"]
