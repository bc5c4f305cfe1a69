"""An annotation's versions chain by hash; any change to a saved version breaks the chain."""
from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from annotation.versions import Version, chain_problems, version_from_leaf


def chain(results: list[dict]) -> list[Version]:
    out, prev = [], None
    for i, r in enumerate(results, start=1):
        v = Version(project=1, task=7, item_sha256="ab" * 32, annotator="ann", seat="A1", version=i,
                    at=f"2026-12-07T10:00:0{i % 10}Z", result=r, prev_hash=prev)
        out.append(v)
        prev = v.hash()
    return out


def test_a_clean_chain_has_no_problem_and_a_leaf_round_trips():
    versions = chain([{"label": "pos"}, {"label": "neg"}, {"label": "neu", "note": "中文"}])
    assert chain_problems(versions) == []
    leaf = versions[1].leaf(42)
    assert leaf["annotation"] == 42 and leaf["hash"] == versions[1].hash()
    assert version_from_leaf(leaf) == versions[1]


@given(st.lists(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
                min_size=2, max_size=5), st.data())
def test_changing_any_saved_version_is_caught(results, data):
    versions = chain(results)
    i = data.draw(st.integers(0, len(versions) - 2))  # not the newest: its change shows in the next link
    field = data.draw(st.sampled_from(["annotator", "seat", "at", "result", "item_sha256"]))
    forged = dataclasses.replace(versions[i], **{field: {"forged": 1} if field == "result" else "forged"})
    versions[i] = forged
    assert chain_problems(versions)


def test_a_missing_version_is_named():
    versions = chain([{"a": 1}, {"a": 2}, {"a": 3}])
    assert chain_problems([versions[0], versions[2]]) == [
        "version 3 where 2 was expected", "version 3 does not chain to the version before it"]
