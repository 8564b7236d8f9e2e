"""A reader for the IDX format used by (Fashion-)MNIST, plain or gzip-compressed."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetUnavailable

# IDX type byte -> big-endian numpy dtype.
_IDX_TYPES: dict[int, str] = {
    0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in .gz."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetUnavailable(
            f"{path} is corrupt or truncated ({err}); delete it and fetch it again."
        ) from err


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file into an array of its stored shape; DatasetUnavailable names a bad file."""
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DatasetUnavailable(f"{path} is not an IDX file (bad magic number); delete it and fetch it again.")
    dtype = np.dtype(_IDX_TYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetUnavailable(f"{path} is truncated (incomplete IDX header); delete it and fetch it again.")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DatasetUnavailable(
            f"{path} is truncated or corrupt: the header promises {expected} bytes of data but "
            f"{len(data) - header} follow; delete it and fetch it again."
        )
    # A bytearray keeps the result writable, so torch.from_numpy can share it without a warning.
    return np.frombuffer(bytearray(data), dtype=dtype, offset=header).reshape(shape)
