"""The pure verdict rules: tiers, acceptance of perceptual candidates, retraction, transform words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.verdict import (
    Acceptance,
    Candidate,
    Decision,
    MatchKind,
    RecordFacts,
    SecondStage,
    Verdict,
    decide,
    decide_verdict,
    describe_transforms,
    earliest,
    is_retracted,
    judge,
)


@pytest.mark.parametrize(
    ("kind", "edited", "relation"),
    [
        (MatchKind.EXACT, False, Verdict.ORIGINAL),
        (MatchKind.PIXELS, False, Verdict.SAME_PIXELS),
        (MatchKind.PDQ, False, Verdict.COPY),
        (MatchKind.PDQ, True, Verdict.EDITED),
        (MatchKind.CROP, False, Verdict.COPY),
        (MatchKind.CROP, True, Verdict.EDITED),
        (None, False, Verdict.UNKNOWN),
    ],
)
def test_relation_per_tier(kind: MatchKind | None, edited: bool, relation: Verdict) -> None:
    live = [RecordFacts((5, 0), False)]
    decision = decide_verdict(kind, live, edited)
    assert decision.verdict is relation and decision.relation is relation
    if kind is not None:
        retracted = decide_verdict(kind, [RecordFacts((5, 0), True)], edited)
        assert retracted.verdict is Verdict.RETRACTED and retracted.relation is relation


@pytest.mark.parametrize("beta_first", [True, False])
def test_one_publishers_retraction_changes_only_its_own_record(beta_first: bool) -> None:
    """Issue 12: Beta registered Alpha's photo (before or after Alpha did) and retracted its registration. Alpha
    never retracted anything, so readers are not told `retracted`, whichever registration came first."""
    beta_order, alpha_order = ((3, 1), (9, 0)) if beta_first else ((9, 0), (3, 1))
    beta, alpha = RecordFacts(beta_order, True), RecordFacts(alpha_order, False)
    for records in ([beta, alpha], [alpha, beta]):
        assert not is_retracted(records)
        assert decide_verdict(MatchKind.EXACT, records).verdict is Verdict.ORIGINAL
        assert decide_verdict(MatchKind.PDQ, records, edited=True).verdict is Verdict.EDITED
        assert records[earliest(records)] is (beta if beta_first else alpha)  # a time, not an owner
    both = [RecordFacts(beta_order, True), RecordFacts(alpha_order, True)]
    assert decide_verdict(MatchKind.EXACT, both) == Decision(Verdict.RETRACTED, Verdict.ORIGINAL)


def test_retraction_edge_cases() -> None:
    assert not is_retracted([])
    assert earliest([]) is None
    assert decide_verdict(None, [RecordFacts((3, 1), True)]).verdict is Verdict.UNKNOWN  # nothing matched
    assert decide_verdict(MatchKind.PDQ, [RecordFacts((3, 1), True)], similar_scene=True).verdict is Verdict.SIMILAR_SCENE


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 5), st.booleans()), min_size=1, max_size=6))
def test_retracted_only_when_every_record_is(records: list[tuple[int, int, bool]]) -> None:
    facts = [RecordFacts((b, i), r) for b, i, r in records]
    assert is_retracted(facts) == all(f.retracted for f in facts)
    # The order of registration never matters: the same records in reverse decide the same way.
    assert is_retracted(facts[::-1]) == is_retracted(facts)
    first = earliest(facts)
    assert first is not None and facts[first].order == min(f.order for f in facts)


def test_backwards_compatible_decide() -> None:
    assert decide(True, True) is Verdict.ORIGINAL
    assert decide(False, True) is Verdict.SAME_PIXELS
    assert decide(False, False) is Verdict.UNKNOWN


@pytest.mark.parametrize(
    ("candidate", "acceptance", "edited"),
    [
        (Candidate(10, 100, 100, None), Acceptance.HASH, False),  # <= 31, reliable, no reference copy
        (Candidate(31, 100, 100, None), Acceptance.HASH, False),
        (Candidate(32, 100, 100, None), Acceptance.REJECTED, False),  # a candidate needs the second stage
        (Candidate(45, 100, 100, SecondStage(True, True)), Acceptance.CONFIRMED, True),
        (Candidate(45, 100, 100, SecondStage(False, False)), Acceptance.REJECTED, False),
        (Candidate(5, 100, 100, SecondStage(False, False)), Acceptance.HASH, False),  # the hash stands; no edit claimed
        (Candidate(5, 30, 100, None), Acceptance.REJECTED, False),  # low-quality registered hash: never alone
        (Candidate(5, 100, 30, None), Acceptance.REJECTED, False),  # low-quality reader's hash: never alone
        (Candidate(5, 30, 100, SecondStage(True, False)), Acceptance.CONFIRMED, False),  # ... unless confirmed
        (Candidate(5, None, 100, None), Acceptance.HASH, False),  # unknown registered quality: the reader's decides
        (Candidate(5, 100, 100, None, confirm_only=True), Acceptance.REJECTED, False),  # a third, or > 63 bits
        (Candidate(80, 100, 100, SecondStage(True, False), confirm_only=True), Acceptance.CONFIRMED, False),
    ],
)
def test_judge(candidate: Candidate, acceptance: Acceptance, edited: bool) -> None:
    judgement = judge(candidate)
    assert (judgement.acceptance, judgement.edited) == (acceptance, edited)
    assert judgement.accepted == (acceptance is not Acceptance.REJECTED)


def test_transform_words() -> None:
    base = dict(dihedral=0, trim_kind=None, registered_trimmed=False, cropped=False, size_ratio=1.0, grayscale=False)
    assert describe_transforms(**base) == ["recompressed"]
    assert describe_transforms(**base | {"size_ratio": 0.5}) == ["resized"]
    assert describe_transforms(**base | {"size_ratio": 1.02}) == ["recompressed"]
    assert describe_transforms(**base | {"dihedral": 3}) == ["rotated 90° clockwise"]
    assert describe_transforms(**base | {"dihedral": 4}) == ["flipped left to right"]
    assert describe_transforms(**base | {"trim_kind": "screenshot", "size_ratio": 0.7}) == ["screenshot", "resized"]
    assert describe_transforms(**base | {"trim_kind": "border"}) == ["bordered"]
    assert describe_transforms(**base | {"cropped": True}) == ["cropped"]
    assert describe_transforms(**base | {"grayscale": True}) == ["grayscale", "recompressed"]
