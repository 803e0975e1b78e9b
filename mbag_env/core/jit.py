"""The one decorator for the core's compiled kernels, and the atomic counter threads share.

Every kernel is compiled with ``cache=True`` (paid once per machine) and without numba's
reference counting (``_nrt=False``): the hot kernels allocate nothing, and numba's refcount
updates on every array passed to a call (atomic operations) made per-cell rule calls several
times slower in our measurements. A kernel that must allocate cannot use this decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

Function = TypeVar("Function", bound=Callable[..., Any])


def kernel(**options: Any) -> Callable[[Function], Function]:
    """``numba.njit(cache=True, _nrt=False, **options)``, typed so that callers keep their signature."""
    decorator: Callable[[Function], Function] = numba.njit(  # type: ignore[call-overload]
        cache=True, _nrt=False, **options
    )
    return decorator


def _claim_worlds_typing(typingctx: Any, counter: Any, count: Any) -> Any:
    """The typing and code generation of :data:`claim_worlds` (an atomic fetch-and-add)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None
    signature = types.int64(counter, types.int64)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        array_type = sig.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        pointer = cgutils.get_item_pointer(context, builder, array_type, array, [zero])
        return builder.atomic_rmw("add", pointer, args[1], "monotonic")

    return signature, codegen


claim_worlds: Callable[[Any, int], int] = intrinsic(_claim_worlds_typing)  # type: ignore[assignment]
"""``first = claim_worlds(counter, count)``: atomically add ``count`` to ``counter[0]`` (an
int64 array) and return its value before, so that threads running one kernel over a batch
each take the next ``count`` worlds from ``first`` on, none twice, without the GIL or a lock
(see :mod:`mbag_env.envs.world_threads`)."""


@kernel(inline="always")
def claim_range(next_world: Any, chunk_size: int, num_worlds: int) -> tuple[int, int]:
    """``(first, stop)``: the next ``chunk_size`` worlds below ``num_worlds`` taken from the shared
    counter (:data:`claim_worlds`); ``first >= stop`` once none is left."""
    first = claim_worlds(next_world, chunk_size)
    return first, min(first + chunk_size, num_worlds)
