"""The pure core imports only the standard library, ``cryptography`` and (for the end-to-end
proofs) ``rbcl``, so that anyone can recount and verify a record without Flask or a database."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "assembly"
#: The verifier's modules: a package, one module per step of docs/record-format.md.
VERIFIER = sorted(PACKAGE.glob("records/verify/*.py"))
#: Modules that must stay pure; later issues add counting/ and the verifier here.
PURE = sorted(
    [
        *PACKAGE.glob("counting/**/*.py"),
        PACKAGE / "records" / "__init__.py",
        PACKAGE / "records" / "canonical.py",
        PACKAGE / "records" / "schema.py",
        PACKAGE / "records" / "merkle.py",
        PACKAGE / "records" / "signing.py",
        PACKAGE / "records" / "record.py",
        *VERIFIER,
        *PACKAGE.glob("crypto/*.py"),
        PACKAGE / "clock.py",
        PACKAGE / "statetable.py",
    ]
)
#: cryptography for signatures; rbcl (libsodium's ristretto255) is the one group-arithmetic
#: library the end-to-end proofs add, and only assembly/crypto imports it.
ALLOWED_THIRD_PARTY = {"cryptography", "rbcl"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


COUNTING = sorted(PACKAGE.glob("counting/**/*.py"))


def test_every_module_of_the_verifier_is_checked() -> None:
    """The verifier is a package (its steps, report and run): each of its modules is pure."""
    names = {path.stem for path in VERIFIER}
    assert {"__init__", "report", "run", "step1_schema", "step9_roll_proof"} <= names
    assert set(VERIFIER) <= set(PURE)


def test_the_counting_core_imports_only_the_standard_library() -> None:
    """assembly/counting uses nothing outside the standard library (not even cryptography)."""
    assert len(COUNTING) >= 10
    for path in COUNTING:
        for name in _imports(path):
            top = name.split(".")[0]
            assert (
                top in sys.stdlib_module_names
                or top == "__future__"
                or (name.startswith("assembly.counting"))
            ), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", PURE, ids=[str(p.relative_to(PACKAGE)) for p in PURE])
def test_pure_modules_import_only_the_standard_library(path: Path) -> None:
    """A pure module imports the standard library, cryptography, or other pure modules."""
    pure_modules = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in PURE
    }
    for name in _imports(path):
        top = name.split(".")[0]
        allowed = (
            top in sys.stdlib_module_names
            or top in ALLOWED_THIRD_PARTY
            or name in pure_modules
            or top == "__future__"
        )
        assert allowed, f"{path.name} imports {name}, which is not pure"


def test_only_the_crypto_core_does_group_arithmetic() -> None:
    """rbcl is imported by assembly/crypto/group.py alone: every other module, the verifier
    included, reaches the group through it."""
    users = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.glob("**/*.py")
        if any(name.split(".")[0] == "rbcl" for name in _imports(path))
    }
    assert users == {"crypto/group.py"}


OFFLINE = sorted(PACKAGE.glob("offline/*.py"))


@pytest.mark.parametrize("path", OFFLINE, ids=[str(p.relative_to(PACKAGE)) for p in OFFLINE])
def test_the_offline_commands_import_neither_the_app_nor_a_database(path: Path) -> None:
    """assembly/offline imports the standard library, click, cryptography and the pure core
    only: never Flask, SQLAlchemy, the application or its settings."""
    assert {p.name for p in OFFLINE} >= {"__init__.py", "count.py", "verify.py"}
    pure_modules = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in PURE
    }
    for name in _imports(path):
        top = name.split(".")[0]
        allowed = (
            top in sys.stdlib_module_names
            or top in {"__future__", "click", *ALLOWED_THIRD_PARTY}
            or name in pure_modules
            # Another offline command's helpers: checked by this same test.
            or name.startswith("assembly.offline.")
        )
        assert allowed, f"{path.name} imports {name}, which needs the app or a database"
