"""Fetch a dataset file from its official address and verify its MD5, or say where to put it."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from darts.errors import UserError


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, dest: Path, md5: str, what: str, timeout: float = 30.0) -> Path:
    """Download `url` to `dest` atomically and check its MD5; a failure says how to place the file by hand."""
    dest = Path(dest)
    if dest.is_file():
        if md5sum(dest) == md5:
            return dest
        raise UserError(f"{dest} exists but its MD5 is not {md5} (corrupt or partial download): delete it and retry")
    created = [p for p in [dest.parent, *dest.parent.parents] if not p.exists()]  # removed again on failure
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while block := resp.read(1 << 20):
                out.write(block)
        if md5sum(Path(tmp)) != md5:
            raise UserError(f"downloaded {url} but its MD5 is not {md5}; retry, or place the file at {dest}")
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        for folder in created:  # nothing is left behind by a download that did not happen
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise UserError(f"{what} not found and cannot be downloaded ({getattr(e, 'reason', e)}): "
                        f"download {url} and put it at {dest}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest
