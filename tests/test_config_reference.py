"""docs/config.md's table is made from the code: its defaults are the package's, and every key is in it."""

from __future__ import annotations

import re

from config import TOP_LEVEL_KEYS
from config.keys import SECTIONS
from config.reference import DOC, ROWS, table, with_table


def test_the_doc_holds_the_table_made_from_the_code() -> None:
    document = DOC.read_text()
    assert table() in document, "docs/config.md is stale: run `python -m config.reference --write`"
    assert with_table(document) == document


def test_every_key_has_a_row() -> None:
    documented = " ".join(key for key, _, _, _ in ROWS)
    for key in TOP_LEVEL_KEYS:
        assert re.search(rf"(^|\s){re.escape(key)}\b", documented), key
    for section, (object_key, fields) in SECTIONS.items():
        for name in fields:
            # Pool keys shared by both kinds of pool are documented once as `<pool>.<key>`.
            assert name.split(".")[-1] in documented, (section, object_key, name)


def test_a_changed_default_changes_the_table(monkeypatch) -> None:  # noqa: ANN001
    from config import reference

    before = table()
    monkeypatch.setattr(reference, "CLUSTER", reference.ClusterSettings(name="x", kubernetes_version="1.34"))
    assert table() != before
    assert "| `kubernetesVersion` | string | `1.34` |" in table()
