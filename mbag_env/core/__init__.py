"""The compiled core: the only place the rules of the game live.

A batch of worlds is stored as plain arrays with a leading env axis (see :mod:`.state`), and
numba kernels reset, step, validate, mask and score them. Everything outside ``core``
adapts these kernels to an API.
"""
