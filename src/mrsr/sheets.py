"""Subject sheets (TSV): read, validate against a JSON schema, resolve paths."""

from __future__ import annotations

import csv
from pathlib import Path

import jsonschema
import yaml


class SheetError(ValueError):
    """A subject sheet that cannot be used; the message names the file."""


def _load_schema(schema: str | Path) -> dict:
    with open(schema) as handle:
        return yaml.safe_load(handle)


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise SheetError(f"{path}: subject sheet not found")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        raise SheetError(f"{path}: subject sheet has no rows (expected a TSV header and one row per subject)")
    return rows


def _clean(row: dict[str, str | None]) -> dict[str, str | None]:
    """Strip cells; empty optional cells become None."""
    return {k.strip(): (v.strip() or None) if isinstance(v, str) else v for k, v in row.items() if k}


def read_sheet(path: str | Path, *, schema: str | Path, file_columns: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Validate every row of a TSV sheet and return {subject: {column: absolute path}}."""
    path = Path(path)
    validator = jsonschema.Draft202012Validator(_load_schema(schema))
    subjects: dict[str, dict[str, str]] = {}
    for line, raw in enumerate(_read_rows(path), start=2):
        row = {k: v for k, v in _clean(raw).items() if v is not None}
        errors = sorted(validator.iter_errors(row), key=lambda e: list(e.path))
        if errors:
            where = "/".join(map(str, errors[0].path)) or "row"
            raise SheetError(f"{path}: line {line}, column '{where}': {errors[0].message}")
        subject = row.pop("subject")
        if subject in subjects:
            raise SheetError(f"{path}: line {line}: subject '{subject}' is listed twice")
        for column in file_columns:
            if column in row:
                row[column] = str(_resolve(path, row[column], line, column))
        subjects[subject] = row
    return subjects


def _resolve(sheet: Path, value: str, line: int, column: str) -> Path:
    file = Path(value) if Path(value).is_absolute() else (sheet.parent / value)
    if not file.is_file():
        raise SheetError(f"{sheet}: line {line}, column '{column}': file not found: {file}")
    return file.resolve()


def read_field_sheet(path: str | Path, *, schema: str | Path) -> dict[str, dict[str, str]]:
    """The 7T -> 9.4T sheet: subject, lr, hr and an optional mask per row."""
    subjects = read_sheet(path, schema=schema, file_columns=("lr", "hr", "mask"))
    if len(subjects) < 3:
        raise SheetError(f"{path}: needs at least 3 subjects for a train/val/test split, found {len(subjects)}")
    return subjects


def write_sheet(path: str | Path, rows: list[dict[str, str]]) -> None:
    """Write a TSV sheet atomically (columns from the first row)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
