"""amva's compiled module (crates/amva-py): what ``amva/__init__.py`` calls."""

from typing import List, Tuple

class AmvaError(Exception):
    """An amva command failed; the message says why (and its causes)."""

def cli(argv: List[str]) -> int:
    """The ``amva`` program on ``argv`` (its name first): prints as the command does,
    returns the exit code (0 success, 1 failure, 2 bad usage)."""

def run(argv: List[str]) -> None:
    """One amva command on ``argv`` (its name first); raises AmvaError when it fails."""

def write_map_store(dir: str, ids: List[str], maps: bytes, shape: Tuple[int, int]) -> None:
    """Writes a map store of finished maps (N x h x w little-endian float32 bytes)."""

def read_image(path: str) -> Tuple[bytes, int, int]:
    """An image decoded as amva decodes it: RGB bytes (row-major), width, height."""
