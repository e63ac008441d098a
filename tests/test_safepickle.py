"""The restricted unpickler: data pickles load, code in a pickle is refused before it runs."""
import os
import pickle

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facedit import safepickle
from facedit.cli import main
from facedit.safepickle import UnsafePickleError


class _Evil:
    """Unpickling this with plain pickle would run a shell command that creates `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def evil_file(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "hq_train.pkl"
    path.write_bytes(pickle.dumps({"img": [_Evil(marker)], "attr": [[1] * 40]}))
    return path, marker


def test_malicious_reduce_is_refused_naming_the_global_and_nothing_runs(evil_file):
    path, marker = evil_file
    with pytest.raises(UnsafePickleError,
                       match=r"refused to unpickle the global '(posix|os)\.system'"):
        safepickle.load(path)
    assert not marker.exists()


def test_malicious_pickle_through_the_cli_is_one_line_and_nothing_runs(evil_file, tmp_path):
    path, marker = evil_file
    result = CliRunner().invoke(main, ["data", "prepare", "--from-pickle", str(path),
                                       "--cache", str(tmp_path / "set")])
    assert result.exit_code == 2
    assert "system" in result.output and "Traceback" not in result.output
    assert not marker.exists() and not (tmp_path / "set" / "summary.json").exists()


@pytest.mark.parametrize("payload", [
    b"cbuiltins\neval\n(V__import__('os')\ntR.",                  # eval of a string
    b"csubprocess\nPopen\n((Vtrue\nttR.",                          # a process
    b"cbuiltins\ngetattr\n(cbuiltins\nobject\nV__class__\ntR.",   # attribute walking
    b"ccopyreg\n_reconstructor\n(cbuiltins\nobject\nNNtR.",        # arbitrary objects
])
def test_other_globals_are_refused(payload):
    with pytest.raises(UnsafePickleError, match="refused to unpickle the global"):
        safepickle.loads(payload)


def test_codecs_encode_admits_only_latin1():
    assert safepickle.loads(b"c_codecs\nencode\n(Vab\nVlatin1\ntR.") == b"ab"
    with pytest.raises(UnsafePickleError, match="codec 'base64'"):
        safepickle.loads(b"c_codecs\nencode\n(Vab\nVbase64\ntR.")


def test_torch_tensors_are_not_data():
    with pytest.raises(UnsafePickleError, match="torch"):
        safepickle.loads(pickle.dumps(torch.zeros(2)))


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_data_pickles_load_in_every_protocol(protocol):
    data = {"img": [np.arange(12, dtype=np.uint8).reshape(2, 2, 3)] * 2,
            "attr": np.array([[1, -1], [-1, 1]], np.int64), "names": ("a", "b"),
            "scalars": [np.float32(1.5), np.int64(3), 2.5, 7, True, None, 1 + 2j],
            "set": {1, 2}, "bytes": b"\x00\xff", "objects": np.array([1, "x"], dtype=object)}
    back = safepickle.loads(pickle.dumps(data, protocol=protocol))
    assert back["names"] == ("a", "b") and back["set"] == {1, 2} and back["bytes"] == b"\x00\xff"
    assert back["scalars"] == data["scalars"] and back["img"][0].dtype == np.uint8
    np.testing.assert_array_equal(back["img"][1], data["img"][1])
    np.testing.assert_array_equal(back["attr"], data["attr"])
    assert list(back["objects"]) == [1, "x"]


def test_not_a_pickle_and_missing_file_are_clear_errors(tmp_path):
    (tmp_path / "notes.pkl").write_text("a shopping list")
    with pytest.raises(UnsafePickleError, match="not a readable data pickle"):
        safepickle.load(tmp_path / "notes.pkl")
    with pytest.raises(UnsafePickleError, match="no such file"):
        safepickle.load(tmp_path / "absent.pkl")
