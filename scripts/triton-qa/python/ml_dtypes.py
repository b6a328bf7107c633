"""Stand-in for the PyPI-only `ml_dtypes` package (not installable from Debian).

Triton's qa helpers only name `ml_dtypes.bfloat16` to tell bfloat16 apart from other
dtypes; a distinct 2-byte structured dtype is equal to nothing else, which is all they need.
Tests that really compute in bfloat16 need a GPU and are out of scope here.
"""
import numpy as np

bfloat16 = np.dtype([("bfloat16", "<u2")])
