"""One torch thread for the tests that train or run small networks outside ``tests/baselines``
(whose conftest sets it for its own tests): on a shared 2-core machine such networks are many times
slower with two spinning threads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block with one torch thread, then restore torch's thread count; without torch, just run
    it (a test that needs torch skips itself)."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
