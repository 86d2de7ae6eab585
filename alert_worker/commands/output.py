"""Files the CLI writes (generated rule files): parent folders made, failures named with the path."""

from __future__ import annotations

import sys
from pathlib import Path


def current_text(path: Path) -> str | None:
    """What `path` holds now, or None when it does not exist or cannot be read (then it is rewritten)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_output(command: str, path: Path, text: str) -> bool:
    """Write `text` to `path`, making its folders; False after saying on stderr why it could not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"{command}: cannot write {path}: {reason}; choose a writable path", file=sys.stderr)
        return False
    print(f"wrote {path}")
    return True
