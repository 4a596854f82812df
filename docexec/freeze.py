"""Frozen outputs, stored as reviewable JSON, and what decides whether they are still the
page's: the key (a hash of the page's code, inline expressions and library versions) and the
record's `modules`, every project file the run read with its sha256 as read (`modules_current`)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import DocexecError, FrozenFileError
from .model import FORMAT, Record

MODES = ("auto", "check", "refresh")


def mode_from_environment() -> str:
    """`DOCEXEC_MODE` if set; otherwise CI re-executes and compares, and a local build reuses.
    Read strictly: a value that means neither is an error, not a guess (probe 66)."""
    mode = os.environ.get("DOCEXEC_MODE", "")
    if mode:
        if mode not in MODES:
            raise DocexecError(f"DOCEXEC_MODE={mode!r} is not a mode; use one of {', '.join(MODES)}", "bad_mode")
        return mode
    ci = os.environ.get("CI", "")
    if ci.lower() in ("1", "true", "yes"):
        return "check"
    if ci.lower() not in ("", "0", "false", "no"):
        raise DocexecError(f"CI={ci!r} is neither true (1, true, yes) nor false (0, false, no, or unset)", "bad_ci")
    return "auto"


def page_key(items: list[dict], versions: dict[str, str]) -> str:
    """What the page runs and with which libraries; its modules are checked apart (module docstring)."""
    payload = {"format": FORMAT, "items": items, "versions": versions}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def modules_current(record: Record, root: Path) -> bool:
    """Whether every project module the record's run loaded still has the source it had then."""
    for file, digest in record.modules.items():
        path = root / file
        if not path.is_file() or file_digest(path) != digest:
            return False
    return True


def changed_modules(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The module files two runs loaded differently: changed, or loaded by one run only."""
    return sorted(file for file in before.keys() | after.keys() if before.get(file) != after.get(file))


def record_checksum(record: dict) -> str:
    """Covers every field of a record's JSON (Record.to_json) but the checksum itself, so an
    edit by hand (or a botched merge) of a frozen file is noticed instead of published: editing
    only its versions made the page's stamp false, emptying its modules made auto builds stale
    (issue 18)."""
    payload = json.dumps({k: v for k, v in record.items() if k != "checksum"}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class Store:
    """One JSON file per page under `directory`, mirroring the page's path."""

    def __init__(self, directory: Path):
        self.directory = directory

    def path(self, page: str) -> Path:
        return self.directory / Path(page).with_suffix(".json")

    def load(self, page: str, items: int) -> Record | None:
        """The stored record of `page`, which has `items` executable items; None if there is
        none. Raises FrozenFileError, naming the file, if the file cannot be trusted."""
        file = self.path(page)
        if not file.exists():
            return None
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as error:  # a directory, unreadable (probe 39)
            raise FrozenFileError(f"{file} is not a file that can be read ({error.strerror})", "unreadable") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise FrozenFileError(f"{file} is not valid JSON ({error})", "frozen_not_json") from None
        try:
            record = Record.from_json(data, items)
        except ValueError as problem:
            raise FrozenFileError(f"{file} {problem}", "frozen_shape") from None
        if data["checksum"] != record_checksum(data):
            raise FrozenFileError(f"{file} was edited by hand: its content does not match its checksum", "hand_edited")
        return record

    def save(self, page: str, record: Record) -> None:
        """Write atomically (a temporary file, then a rename), so an interrupted build never
        leaves a truncated file behind."""
        file = self.path(page)
        data = record.to_json()
        data["checksum"] = record_checksum(data)
        text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
        temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            for stale in file.parent.glob(f".{file.name}.*.tmp"):  # a build killed while saving (probe 37)
                if not _alive(stale.name.rsplit(".", 2)[-2]):
                    stale.unlink(missing_ok=True)
            if file.is_file() and file.read_text(encoding="utf-8", errors="replace") == text:
                return
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, file)
        except OSError as error:
            raise DocexecError(f"cannot write {file}: {error.strerror}", "frozen_unwritable") from None
        finally:
            temporary.unlink(missing_ok=True)

    def orphans(self, docs_dir: Path) -> list[tuple[Path, str]]:
        """(record, its page inside docs_dir) for every record whose page no longer exists."""
        found = []
        for file in sorted(self.directory.rglob("*.json")) if self.directory.is_dir() else []:
            page = file.relative_to(self.directory).with_suffix(".md").as_posix()
            if not (docs_dir / page).is_file():
                found.append((file, page))
        return found


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass
    return True
