"""The event reference (docs/events.yaml) and its page (docs/EVENTS.md): the page's tables
are what ``make events-doc`` writes, and the checker names the tag, the dialect and the key
of every event that does not fit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from saltsim.eventref import (
    EventReferenceError,
    Reference,
    ReferenceChecker,
    payload_text,
    render_page,
    value_fits,
)
from saltsim.eventref.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "events.yaml"
PAGE = ROOT / "docs" / "EVENTS.md"
GOLDENS = ROOT / "tests" / "salt" / "goldens"
STAMP = {"_stamp": "2026-12-02T10:00:00.000000+00:00", "_seq": 7}


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference.read(REFERENCE)


def test_the_committed_page_is_what_make_events_doc_writes(reference: Reference) -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert render_page(reference, page) == page, (
        "docs/EVENTS.md's tables differ from docs/events.yaml: run `make events-doc` "
        "(edit the YAML, not the tables)"
    )


def test_every_section_has_its_table_and_every_entry_a_row(reference: Reference) -> None:
    page = PAGE.read_text(encoding="utf-8")
    for entry in reference.entries:
        assert f"| `{entry.tag}` |" in page, entry.tag
        for form in entry.forms:
            assert payload_text(form).replace("|", "\\|") in page, (entry.tag, form.when)


def test_check_mode_exits_1_on_a_stale_page_and_write_mode_fixes_it(tmp_path: Path) -> None:
    page = tmp_path / "EVENTS.md"
    stale = PAGE.read_text(encoding="utf-8").replace('"act": "pend"', '"act": "pending"', 1)
    page.write_text(stale, encoding="utf-8")
    assert main(["--check", str(REFERENCE), str(page)]) == 1
    assert main([str(REFERENCE), str(page)]) == 0
    assert page.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")
    assert main(["--check", str(REFERENCE), str(page)]) == 0


def test_a_page_without_a_sections_marker_is_refused(reference: Reference) -> None:
    page = PAGE.read_text(encoding="utf-8").replace("<!-- events: wheel -->", "", 1)
    with pytest.raises(EventReferenceError, match=r"no marker for \['wheel'\]"):
        render_page(reference, page)
    with pytest.raises(EventReferenceError, match=r"unknown \['nosuch'\]"):
        render_page(reference, page + "\n<!-- events: nosuch -->\n<!-- /events -->\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("common: []\n", "a map with `sections`"),
        ("sections: {a: [{tag: x/<nope>, forms: [{payload: []}]}]}", "placeholder <nope>"),
        ("sections: {a: [{tag: x, forms: []}]}", "needs forms"),
        ("sections: {a: [{tag: x, origin: mars, forms: [{payload: []}]}]}", "origin must be"),
        ("sections: {a: [{tag: x, forms: [{payload: [a, a]}]}]}", "listed twice"),
        ("sections: {a: [{tag: x, forms: [{payload: [a], dialect: '2019'}]}]}", "dialect"),
        ("sections: {a: [{tag: x, forms: [{payload: {a: 1}}]}]}", "a list of keys"),
    ],
)
def test_a_malformed_reference_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(EventReferenceError, match=message):
        Reference.parse(text)


@pytest.mark.parametrize(
    ("expected", "actual", "fits"),
    [
        (True, True, True),
        (True, 1, False),
        ("<int>", 3, True),
        ("<int>", True, False),
        ("<int>", 3.0, False),
        ("<bool>", False, True),
        ("<list>", [], True),
        ("<map>", {}, True),
        ("Minion <id> started at <time>", "Minion m1 started at Wed Dec  2 10:00:00 2026", True),
        ("Minion <id> started at <time>", "Minion m1 stopped", False),
        ("runner.<name>", "runner.manage.up", True),
        ("runner.<name>", "wheel.key.list", False),
        (["create failed", "destroy failed"], "destroy failed", True),
        (["create failed", "destroy failed"], "failed", False),
        (None, None, True),
        ("", "", True),
    ],
)
def test_value_notation(expected: Any, actual: Any, fits: bool) -> None:
    assert value_fits(expected, actual) is fits


def test_an_event_that_fits_counts_its_form(reference: Reference) -> None:
    checker = ReferenceChecker(reference)
    data = {"result": False, "id": "m2", "pub": "-----BEGIN PUBLIC KEY-----"}
    assert checker.check("salt/auth", {**data, **STAMP}, "3006") == []
    assert ("salt/auth", 3, "3006") in checker.seen
    assert "salt/auth (key rejected) (dialect 3006)" not in checker.unseen(["3006"])
    assert "salt/auth (key rejected) (dialect 3008)" in checker.unseen()


def test_problems_name_the_tag_the_dialect_and_the_key(reference: Reference) -> None:
    checker = ReferenceChecker(reference)
    # 3006's rejection has no act; on 3008 it must have one.
    (missing,) = checker.check(
        "salt/auth", {"result": False, "id": "m", "pub": "p", **STAMP}, "3008"
    )
    assert "tag 'salt/auth' (dialect 3008)" in missing and "missing key 'act'" in missing
    extra = {"result": True, "act": "pend", "id": "m", "pub": "p", "why": 1, **STAMP}
    (problem,) = checker.check("salt/auth", extra, "3008")
    assert "extra key 'why'" in problem and "key unknown or pending" in problem
    (unknown,) = checker.check("salt/nosuch", dict(STAMP), "3006")
    assert unknown.startswith(
        "tag 'salt/nosuch' (dialect 3006): unknown tag, no entry of the reference matches it"
    )
    no_seq = checker.check("key", {"rotate_aes_key": True, "_stamp": "x"}, "3008")
    assert no_seq == ["tag 'key' (dialect 3008): missing key '_seq'"]
    wrong = checker.check("key", {"rotate_aes_key": "yes", **STAMP}, "3008")
    assert "key 'rotate_aes_key' is 'yes', the reference says True" in wrong[0]
    publish = {"fun": "f", "arg": [], "tgt": "*", "jid": "1" * 20, "ret": "", "tgt_type": "glob"}
    (only_3008,) = checker.check(
        f"salt/job/{'1' * 20}/publish", {**publish, "user": "u", **STAMP}, "3006"
    )
    assert "no form of it in this dialect" in only_3008


def test_client_events_fit_only_when_the_caller_names_them(reference: Reference) -> None:
    checker = ReferenceChecker(reference)
    event = {"from": "host", **STAMP}
    assert "unknown tag" in checker.check("my/host/event", event, "3008")[0]
    assert checker.check("my/host/event", event, "3008", client_tags={"my/host/event"}) == []


def test_a_minion_event_under_a_master_tag_fits_the_minion_form(reference: Reference) -> None:
    """custom-events forges salt/key from a minion: Salt 3008 fires it, wrapped."""
    checker = ReferenceChecker(reference)
    forged = {"id": "m1", "cmd": "_minion_event", "pretag": None, "data": {"forged": True}}
    assert checker.check("salt/key", {**forged, "tag": "salt/key", "ts": 1, **STAMP}, "3008") == []


@pytest.mark.parametrize("golden", sorted(GOLDENS.glob("*.jsonl")), ids=lambda p: p.stem)
def test_real_salts_recordings_fit_the_reference(reference: Reference, golden: Path) -> None:
    """The goldens are real Salt 3008.3 (tests/salt): what both Salt and saltsim fire must
    fit the same forms, so the reference cannot drift towards saltsim's own mistakes."""
    lines = [json.loads(line) for line in golden.read_text(encoding="utf-8").splitlines()]
    (header,) = [line for line in lines if "record" in line]
    checker = ReferenceChecker(reference)
    problems = [
        problem
        for line in lines
        if "tag" in line
        for problem in checker.check(line["tag"], line["data"], header["dialect"])
    ]
    assert not problems, "\n".join(problems)
    assert checker.checked > 50


def test_an_unreadable_reference_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "events.yaml"
    bad.write_text("sections: {a: [{tag: x/<nope>, forms: [{payload: []}]}]}\n", encoding="utf-8")
    assert main([str(bad), str(PAGE)]) == 2
    assert "placeholder <nope>" in capsys.readouterr().err
    assert main([str(REFERENCE), str(tmp_path / "missing.md")]) == 2
