"""Reading users' pickle files without running their code.

A pickle is a program: unpickling calls whatever global functions the file names (`os.system`
included). facedit never calls plain `pickle.load` on a user's file. `load` uses an unpickler that
admits only what data pickles need - dicts, lists, tuples, sets, numbers, strings, bytes, numpy
arrays, scalars and dtypes - and refuses any other global before calling anything, naming it.

Example:
    >>> data = load("hq_train.pkl")          # doctest: +SKIP  {'img': [...], 'attr': [...]}
"""
from __future__ import annotations

import _compat_pickle
import builtins
import io
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np

from facedit.errors import FaceditError

ADMITTED = "dicts, lists, tuples, numbers, strings, bytes and numpy arrays, scalars and dtypes"


class UnsafePickleError(FaceditError):
    """A pickle file names a global outside the admitted data types, or is not a pickle."""


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """`_codecs.encode` as pickle protocols 0-2 use it for bytes (latin-1 only; no other codec)."""
    if encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise UnsafePickleError(f"refused _codecs.encode with codec {encoding!r}")
    return text.encode("latin1")


def _numpy_globals() -> dict[tuple[str, str], object]:
    """numpy's pickle helpers under every module name numpy 1.x and 2.x write."""
    found = {
        "_reconstruct": np.zeros(1).__reduce__()[0],        # ndarray, protocols 0-4
        "_frombuffer": np.zeros(1).__reduce_ex__(5)[0],     # ndarray, protocol 5
        "scalar": np.float64(0).__reduce__()[0],            # numpy scalars
    }
    out = {}
    for module in ("numpy.core", "numpy._core"):
        out[(f"{module}.multiarray", "_reconstruct")] = found["_reconstruct"]
        out[(f"{module}.multiarray", "scalar")] = found["scalar"]
        out[(f"{module}.numeric", "_frombuffer")] = found["_frombuffer"]
    out[("numpy", "ndarray")] = np.ndarray
    out[("numpy", "dtype")] = np.dtype
    return out


# What protocols 0-2 name for sets, complex numbers and byte arrays (protocol 4 has opcodes).
_BUILTINS = {("builtins", name): getattr(builtins, name)
             for name in ("set", "frozenset", "bytearray", "complex")}
_OTHER = {("_codecs", "encode"): _latin1_encode}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, label: str):
        # latin1: numpy arrays pickled by Python 2 (as old kits were) read correctly.
        super().__init__(file, encoding="latin1")
        self.label = label
        self.allowed = {**_numpy_globals(), **_BUILTINS, **_OTHER,
                        ("collections", "OrderedDict"): OrderedDict}

    def find_class(self, module: str, name: str):
        # Python 2 names (`__builtin__.set`) as pickle maps them; no Python 3 module has them.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = self.allowed.get((module, name))
        if found is None:
            raise UnsafePickleError(f"{self.label}: refused to unpickle the global "
                                    f"'{module}.{name}'; only {ADMITTED} are admitted")
        return found

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self.label}: refused a persistent reference ({pid!r}); "
                                f"only {ADMITTED} are admitted")


def loads(data: bytes, label: str = "pickle"):
    """The object of pickle bytes, built only from admitted types."""
    return _load(io.BytesIO(data), label)


def load(path: str | Path):
    """The object in a pickle file, built only from admitted types.

    Raises `UnsafePickleError` naming the first refused global (nothing of it is called), or when
    the file is not a readable pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise UnsafePickleError(f"{path}: no such file")
    with path.open("rb") as fh:
        return _load(fh, str(path))


def _load(file, label: str):
    try:
        return _RestrictedUnpickler(file, label).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError, OverflowError) as exc:
        raise UnsafePickleError(f"{label}: not a readable data pickle ({type(exc).__name__}: "
                                f"{str(exc)[:120]})") from None
