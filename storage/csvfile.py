"""The CSV files FirstCall reads and writes. Reading: exact headers, rows streamed, every
problem reported as `FILE:LINE: reason`. Writing: every cell neutralised against formula
injection (OWASP's rule), and reading strips that neutralisation back off, so FirstCall
accepts its own exports."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

TRUE = frozenset({"true", "yes", "y", "1"})
FALSE = frozenset({"false", "no", "n", "0", ""})


# A spreadsheet treats a cell starting with one of these as a formula (=HYPERLINK(...),
# =cmd|' /C calc'!A0, @SUM, a tab or carriage return in front of one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Quoted on the way out too: "'=" written as it is would be read back as "=".
_QUOTED = (*FORMULA_STARTS, "'")


def neutralise(value: object) -> str:
    """A cell a spreadsheet shows as text: a leading single quote before a formula start,
    and before a quote already leading the cell, so that `restore` can tell the two apart."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_QUOTED) else text


def restore(value: str) -> str:
    """The cell as it was before `neutralise`: only a quote that `neutralise` would have added
    is taken off, so a name like O'Neil or 'Ria in a file FirstCall did not write is read as
    written."""
    return value[1:] if value.startswith("'") and value[1:].startswith(_QUOTED) else value


class CsvWriter:
    """`csv.writer` whose every cell goes through `neutralise`: the one way FirstCall writes a
    CSV file, so no cell can reach a spreadsheet as a formula."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])


class ImportFailed(Exception):
    """Rows that failed validation; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self, what: str) -> str:
        verb = "would change" if self.dry_run else "changed"
        return (
            f"{what}: {self.rows} rows read, {self.created} new, {self.updated} {verb}, "
            f"{self.unchanged} unchanged" + (" (dry run: nothing written)" if self.dry_run else "")
        )


class RowError(ValueError):
    pass


def parse_bool(value: str, column: str) -> bool:
    text = value.strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise RowError(f"{column} must be true or false, got {value!r}")


def read_rows(
    path: Path, columns: tuple[str, ...], problems: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each data row; header problems end the file at once."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        problems.append(f"{path}:0: cannot open ({exc.strerror or exc})")
        return
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.append(f"{path}:1: unreadable header ({exc})")
            return
        if header is None:
            problems.append(f"{path}:1: the file is empty (expected header {','.join(columns)})")
            return
        names = [h.strip().lower() for h in header]
        missing = [c for c in columns if c not in names]
        extra = [h for h in names if h not in columns]
        if missing or extra:
            detail = "; ".join(
                part
                for part in (
                    f"missing column(s) {', '.join(missing)}" if missing else "",
                    f"unknown column(s) {', '.join(extra)}" if extra else "",
                )
                if part
            )
            problems.append(f"{path}:1: {detail} (expected {','.join(columns)})")
            return
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                problems.append(f"{path}:{reader.line_num}: unreadable row ({exc})")
                return
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(names):
                problems.append(f"{path}:{line}: expected {len(names)} fields, found {len(values)}")
                continue
            yield line, {n: restore(v).strip() for n, v in zip(names, values, strict=True)}
