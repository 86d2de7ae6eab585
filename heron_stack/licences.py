"""Licence guard: what Heron builds and installs must be permissive or weak-copyleft.

Go binaries: `go version -m BINARY` lists every module linked in; a module from the deny list, or one
whose licence file reads as AGPL, GPL (not LGPL), SSPL or BUSL, is a violation. Python: the licence
metadata of the installed distributions. Heron runs the result in its test suite (CI's guard).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DENIED_MODULES = (
    "github.com/grafana/loki",
    "github.com/grafana/grafana",
    "github.com/grafana/tempo",
    "github.com/grafana/mimir",
)
"""AGPL projects Heron must never compile in (their images may run in optional compose profiles)."""

LICENCE_FILES = re.compile(r"(?i)^(licen[cs]e|copying|unlicense)([-._].*)?$")

# Order matters: the first match names the licence. LGPL and the GPL linking exceptions are allowed.
_FORBIDDEN_TEXT = (
    ("AGPL", re.compile(r"GNU AFFERO GENERAL PUBLIC LICENSE", re.I)),
    ("SSPL", re.compile(r"Server Side Public License", re.I)),
    ("BUSL", re.compile(r"Business Source License", re.I)),
    ("GPL", re.compile(r"GNU GENERAL PUBLIC LICENSE", re.I)),
)
_ALLOWED_TEXT = re.compile(
    r"GNU LESSER GENERAL PUBLIC LICENSE|GNU LIBRARY GENERAL PUBLIC LICENSE|Mozilla Public License", re.I
)
HEAD_CHARS = 600
_FORBIDDEN_SPDX = re.compile(r"\b(AGPL|SSPL|BUSL)[-\w.]*|(?<!L)GPL-\d", re.I)


@dataclass(frozen=True)
class Module:
    path: str
    version: str


@dataclass(frozen=True)
class Violation:
    what: str
    licence: str
    where: str

    def __str__(self) -> str:
        return f"{self.what}: {self.licence} ({self.where})"


def go_modules(binary: Path, go: str = "go") -> list[Module]:
    """The modules linked into a Go binary, replacements resolved to what was really built."""
    out = subprocess.run([go, "version", "-m", str(binary)], capture_output=True, text=True, check=True).stdout
    modules: list[Module] = []
    for line in out.splitlines():
        fields = line.strip().split("\t")
        if fields[0] == "dep" and len(fields) >= 3:
            modules.append(Module(fields[1], fields[2]))
        elif fields[0] == "=>" and modules and len(fields) >= 3:
            modules[-1] = Module(fields[1], fields[2])
    return modules


def denied(modules: Iterable[Module]) -> list[Violation]:
    return [
        Violation(f"{m.path}@{m.version}", "on the deny list (AGPL)", "go version -m")
        for m in modules
        if any(m.path == d or m.path.startswith(d + "/") for d in DENIED_MODULES)
    ]


def escape_module_path(path: str) -> str:
    """The module cache's case encoding: `Azure` -> `!azure`."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def module_dir(modcache: Path, module: Module) -> Path:
    return modcache / f"{escape_module_path(module.path)}@{module.version}"


def classify_licence_text(text: str) -> str | None:
    """The forbidden licence a licence file is under, or None when it is allowed or unknown.

    Only the head of the file counts, where a licence names itself: MPL-2.0 and the Apache
    licence mention the GPL further down, as compatible secondary licences.
    """
    head = text[:HEAD_CHARS]
    if _ALLOWED_TEXT.search(head):
        return None
    for name, pattern in _FORBIDDEN_TEXT:
        if pattern.search(head):
            return name
    return None


def licence_violations(modcache: Path, modules: Iterable[Module]) -> tuple[list[Violation], list[Module]]:
    """Violations found in the modules' licence files, and the modules with no licence file to read."""
    found: list[Violation] = []
    unread: list[Module] = []
    for module in modules:
        root = module_dir(modcache, module)
        files = [p for p in root.iterdir() if LICENCE_FILES.match(p.name)] if root.is_dir() else []
        if not files:
            unread.append(module)
        for file in files:
            licence = classify_licence_text(file.read_text(encoding="utf-8", errors="replace"))
            if licence:
                found.append(Violation(f"{module.path}@{module.version}", licence, str(file)))
    return found, unread


@dataclass(frozen=True)
class Package:
    """A Python distribution's licence metadata."""

    name: str
    expression: str = ""
    licence: str = ""
    classifiers: tuple[str, ...] = ()
    licence_file_text: str = ""


def installed_packages() -> list[Package]:
    """Every distribution installed in this environment (the project and everything it pulled in)."""
    out = []
    for dist in metadata.distributions():
        meta = dist.metadata
        classifiers = tuple(c for c in meta.get_all("Classifier") or [] if c.startswith("License ::"))
        files = [f for f in meta.get_all("License-File") or []]
        texts = [dist.read_text(f"licenses/{f}") or dist.read_text(f) or "" for f in files]
        out.append(
            Package(
                str(meta["Name"]),
                meta["License-Expression"] or "",
                (meta["License"] or "")[:200],
                classifiers,
                "\n".join(t[:HEAD_CHARS] for t in texts),
            )
        )
    return out


def python_violations(packages: Iterable[Package]) -> list[Violation]:
    """Packages whose licence metadata (SPDX expression, licence field, classifiers) is forbidden."""
    out: list[Violation] = []
    for pkg in packages:
        spdx = _FORBIDDEN_SPDX.search(pkg.expression)
        by_classifier = next((c for c in pkg.classifiers if _classifier_forbidden(c)), None)
        by_text = classify_licence_text(pkg.licence) or classify_licence_text(pkg.licence_file_text)
        licence = spdx.group(0) if spdx else (by_classifier or by_text)
        if licence:
            out.append(Violation(pkg.name, licence, "package metadata"))
    return out


def _classifier_forbidden(classifier: str) -> bool:
    lowered = classifier.lower()
    if "lesser general public" in lowered or "lgpl" in lowered:
        return False
    return any(word in lowered for word in ("affero", "general public license", "(gpl", "sspl", "business source"))
