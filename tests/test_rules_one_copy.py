"""The shared rules have one copy, in `dashapp/rules.py`: a second copy is how the ticker rule
came to refuse `^GSPC` in some modules and accept it in others."""

from __future__ import annotations

import re
from pathlib import Path

from dashapp import rules
from dashapp.db.models import Transaction
from dashapp.ui.transactions import FORM_FIELDS, PREVIEW_FIELDS

PACKAGE = Path(__file__).resolve().parent.parent / "dashapp"
MIGRATION = PACKAGE.parent / "migrations" / "versions" / "0001_initial_schema.py"
# What a copy looks like in source: the zone by name, the kinds spelled out, a ticker regex.
COPIES = {
    "exchange time zone": re.compile(r"ZoneInfo\(\s*[\"']America/New_York"),
    "ledger kinds": re.compile(
        r"\W+".join(f"[\"']{kind}" for kind in ("BUY", "SELL", "DIVIDEND", "SPLIT", "DEPOSIT"))
    ),
    "ticker pattern": re.compile(r"re\.compile\(\s*r?[\"']\^\[A-Z"),
}


def test_no_module_but_rules_spells_out_a_shared_rule():
    found = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "rules.py"
        for name, copy in COPIES.items()
        if copy.search(path.read_text())
    ]
    assert found == []


def test_the_kinds_check_is_the_one_migration_0001_created():
    (check,) = (c for c in Transaction.__table__.constraints if c.name == "ck_transactions_kind")
    assert (
        str(check.sqltext)
        == "kind IN ('BUY','SELL','DIVIDEND','SPLIT','DEPOSIT','WITHDRAWAL','FEE')"
    )
    assert f'"{check.sqltext}"' in MIGRATION.read_text()


def test_the_ledger_forms_show_the_ledger_fields():
    assert PREVIEW_FIELDS == rules.LEDGER_FIELDS
    assert tuple(name for name in rules.LEDGER_FIELDS if name != "currency") == FORM_FIELDS
