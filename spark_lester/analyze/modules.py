"""The Python modules of one repository, so a constant can be read from the module defining it.

Real DAGs keep buckets and prefixes in a shared module (``import config; config.BUCKET``,
``from common.settings import RAW_BUCKET``). :class:`ModuleIndex` maps every dotted name a
file may be imported by (``dags/common/config.py`` is ``dags.common.config``,
``common.config`` and ``config``) to that file, parses it on first use, never imports it,
and answers only when the name points at exactly one file.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> (d / "common").mkdir()
>>> _ = (d / "common" / "config.py").write_text("BUCKET = 'lake'")
>>> index = ModuleIndex(d, [d / "common" / "config.py"])
>>> index("common.config").value(index("config").assigns["BUCKET"][0][2])
'lake'
"""

from __future__ import annotations

import ast
from pathlib import Path

from spark_lester.analyze._private import read_text
from spark_lester.analyze.resolve import Resolver


class ModuleIndex:
    """Callable: dotted module name -> its :class:`Resolver`, or None when unknown or ambiguous."""

    def __init__(self, root: Path, files: list[Path]) -> None:
        self.root = root
        self.paths: dict[str, list[Path]] = {}
        for f in files:
            if f.suffix != ".py" or not f.is_relative_to(root):
                continue
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            for i in range(len(parts)):
                self.paths.setdefault(".".join(parts[i:]), []).append(f)
        self.cache: dict[Path, Resolver | None] = {}

    def __call__(self, module: str) -> Resolver | None:
        paths = self.paths.get(module, [])
        if len(paths) != 1:
            return None
        path = paths[0]
        if path not in self.cache:
            self.cache[path] = None  # a module importing itself back finds nothing, not a loop
            try:
                tree = ast.parse(read_text(path))
            except (SyntaxError, ValueError, OSError, RecursionError):
                return None
            self.cache[path] = Resolver(tree, file=path.relative_to(self.root).as_posix(), modules=self)
        return self.cache[path]
