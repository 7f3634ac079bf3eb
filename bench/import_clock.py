"""``python -m monitor ARGS`` with a clock on its imports: the CPU seconds a command spends importing modules.

    python bench/import_clock.py OUT ARGS...

Runs the command line as ``python -m monitor ARGS`` does (:func:`monitor.cli.main`), with the importer's
``_find_and_load`` (where every import that is not already in ``sys.modules`` goes, ``import`` statements and
``importlib.import_module`` alike) wrapped: the process CPU time (user + system) spent in the outermost imports,
those made at start-up and those the command makes while it works (jinja2 when it first renders, say), is written
to OUT with the whole process's CPU time, as JSON. Unlike ``-X importtime``, which times and prints every module
(its sum reads 1.3-2x this on ``once``), this costs one Python call per module imported. ``bench/startup.py`` runs
it.
"""

from __future__ import annotations

import _frozen_importlib  # the importer itself (importlib._bootstrap): import statements call its _find_and_load
import json
import os
import sys
import time
from collections.abc import Callable
from types import ModuleType


def clock_imports() -> Callable[[], float]:
    """Wrap the importer's ``_find_and_load``; the CPU seconds spent in outermost imports so far."""
    find_and_load: Callable[[str, object], ModuleType] = _frozen_importlib._find_and_load
    spent = [0.0]
    depth = [0]

    def clocked(name: str, import_: object) -> ModuleType:
        if depth[0]:
            return find_and_load(name, import_)  # inside an import being clocked
        depth[0] += 1
        start = time.process_time()
        try:
            return find_and_load(name, import_)
        finally:
            spent[0] += time.process_time() - start
            depth[0] -= 1

    _frozen_importlib._find_and_load = clocked
    return lambda: spent[0]


def main(out: str, args: list[str]) -> None:
    sys.path[0] = os.getcwd()  # as ``python -m`` has it, not this script's folder
    spent = clock_imports()
    try:
        from monitor.cli import main as command_line

        code = command_line(args)
    except SystemExit as exc:
        code = exc.code
    with open(out, "w") as file:
        json.dump({"code": code, "imports": spent(), "cpu": time.process_time()}, file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
