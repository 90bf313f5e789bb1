"""Catalog maintenance: `python scripts/i18n.py update` extracts every marked string and merges it
into the zh_CN catalog (keeping existing translations); `missing` lists what is untranslated;
`fill FILE.json` merges {msgid: translation} pairs into the catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "carebridge" / "locale"
POT = LOCALE / "messages.pot"
PO = LOCALE / "zh_CN" / "LC_MESSAGES" / "messages.po"
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]


def update() -> None:
    subprocess.run([*PYBABEL, "extract", "-F", str(ROOT / "babel.cfg"), "-k", "N_", "-o", str(POT),
                    "--no-location", "--sort-output", "--omit-header", str(ROOT)], check=True,
                   capture_output=True)
    subprocess.run([*PYBABEL, "update", "-i", str(POT), "-d", str(LOCALE), "-l", "zh_CN",
                    "--no-fuzzy-matching", "--ignore-obsolete"], check=True, capture_output=True)
    missing()


def _load():  # noqa: ANN202
    with PO.open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def missing() -> int:
    absent = [m.id for m in _load() if m.id and not m.string]
    for msgid in absent:
        print(json.dumps(msgid, ensure_ascii=False))
    print(f"{len(absent)} untranslated", file=sys.stderr)
    return len(absent)


def fill(path: str) -> None:
    pairs = json.loads(Path(path).read_text(encoding="utf-8"))
    catalog = _load()
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.id in pairs:
            message.string = pairs[message.id]
            message.flags.discard("fuzzy")
    with PO.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, sort_output=True, width=120)
    missing()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "missing"
    if command == "update":
        update()
    elif command == "fill":
        fill(sys.argv[2])
    else:
        sys.exit(1 if missing() else 0)
