"""Bytecode for the benchmarks' child processes, as an installed daemon has it.

pip compiles a package's modules when it installs it; a checkout or an editable install does not, and where
``PYTHONDONTWRITEBYTECODE`` is set (this development machine sets it) every child process compiles the monitor
package again: about 0.3 s of CPU per ``once`` that no installed daemon pays. :func:`installed_env` compiles the
package once and gives the environment for children without that variable.
"""

from __future__ import annotations

import compileall
import os
from pathlib import Path

import monitor

__all__ = ["installed_env"]


def installed_env() -> dict[str, str]:
    """This process's environment for a child ``python -m monitor``, the monitor package's bytecode written."""
    compileall.compile_dir(str(Path(monitor.__file__).parent), quiet=1)
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
