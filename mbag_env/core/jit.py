"""The one decorator for the core's compiled kernels.

Every kernel is compiled with ``cache=True`` (paid once per machine) and without numba's
reference counting (``_nrt=False``): the hot kernels allocate nothing, and numba's refcount
updates on every array passed to a call (atomic operations) made per-cell rule calls several
times slower in our measurements. A kernel that must allocate cannot use this decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

Function = TypeVar("Function", bound=Callable[..., Any])


def kernel(**options: Any) -> Callable[[Function], Function]:
    """``numba.njit(cache=True, _nrt=False, **options)``, typed so that callers keep their signature."""
    decorator: Callable[[Function], Function] = numba.njit(  # type: ignore[call-overload]
        cache=True, _nrt=False, **options
    )
    return decorator
