"""Step 7, Recount: every contested contest recounted from its ballots (as step 5 found
them) with its method, seats and seed — the result equal to the recorded ``count``, stage by
stage, every lot drawn again from the seed, ``elected`` equal to the count's — and every
uncontested one electing its candidates without ballots or a count. A board election's seed
revealed in the record hashes to the commitment published before the poll, and every
contest's seed is made from it (a record made before records carried them says it made no
advance commitment). An assembly's votes are recounted with ``record.count_assembly_vote``,
and the step also checks its seeds, the order of its rounds and its declared result.

Pure: standard library and the pure modules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from assembly.counting import (
    DEFAULT_RULES,
    BallotError,
    Candidate,
    LotNeeded,
    build_profile,
    count,
)
from assembly.counting.lots import draw
from assembly.records.record import (
    assembly_seed_sha256,
    contest_seed,
    count_assembly_vote,
    election_seed_sha256,
    vote_seed,
)
from assembly.records.verify.report import (
    Outcome,
    Verification,
    as_json,
    contest_label,
    is_assembly,
    json_kind,
    limited,
    same_json,
    short,
)

__all__ = ["check_recount"]

#: Each recounted assembly vote's candidate ids elected and excluded, by contest id: what
#: the checks of the votes' order and of the declared result read.
Outcomes = dict[int, tuple[list[int], list[int]]]
#: How the details name an assembly vote's method.
_METHOD_WORDS = {
    "irv": "instant runoff",
    "round": "one round of an exhaustive ballot",
    "confirmation": "yes, no or abstain",
}


def check_recount(state: Verification) -> Outcome:
    """Step 7: every contest (or vote) recounted from its ballots, and for an assembly what
    makes its votes one assembly's."""
    passed = True
    details: list[str] = []
    assembly = is_assembly(state.body)
    outcomes: Outcomes = {}
    for contest in state.body["contests"]:
        if assembly:
            problems, lines = _recount_vote(state, outcomes, contest)
        elif contest["uncontested"]:
            problems, lines = _uncontested(contest)
        else:
            problems, lines = _recount_contest(state, contest)
        if problems:
            passed = False
            details += limited(problems, contest_label(contest))
        details += lines
    if assembly:
        problems, lines = _assembly_checks(state.body, outcomes)
    else:
        problems, lines = _election_seed_checks(state.body)
    passed = passed and not problems
    details += problems + lines
    return passed, details


def _election_seed_checks(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Problems and notes of a board election's seed: the seed revealed is the one committed
    to before the poll, and every contest's seed is made from it. A record made before
    records carried them has neither, and the note says it made no commitment."""
    election = body["election"]
    if "seed" not in election:
        return [], [
            "the record made no advance commitment to its seed (no election.seed_sha256 or "
            "election.seed: it was made before records carried them), so nothing shows the "
            "contests' seeds were fixed before the poll"
        ]
    return _seed_checks(
        body,
        "election",
        published="the poll",
        part="contest",
        commit=election_seed_sha256,
        derive=contest_seed,
        note_without_parts=True,
    )


def _seed_checks(
    body: dict[str, Any],
    whose: str,
    *,
    published: str,
    part: str,
    commit: Callable[[str], str],
    derive: Callable[[str, int], str],
    note_without_parts: bool,
) -> tuple[list[str], list[str]]:
    """Problems and notes of the seed of ``body[whose]`` (an election or an assembly): it
    hashes (``commit``) to the commitment published before ``published``, and the seed of each
    of the contests, which the notes call ``part``s, is made from it (``derive``). A note that
    every one is made from it is left out when there are none, unless ``note_without_parts``.
    """
    section = body[whose]
    contests = body["contests"]
    problems: list[str] = []
    notes: list[str] = []
    seed = section["seed"]
    commitment = commit(seed)
    if commitment != section["seed_sha256"]:
        problems.append(
            f"{whose}.seed_sha256 is {section['seed_sha256']} (published before {published}), "
            f"but the revealed {whose}.seed hashes to {commitment}: the seed revealed is not "
            "the one committed to"
        )
    else:
        notes.append(
            f"the {whose}'s seed {short(seed)} hashes to {whose}.seed_sha256 "
            f"{short(commitment)}, published before {published}"
        )
    wrong = 0
    for contest in contests:
        derived = derive(seed, contest["id"])
        if contest["seed"] != derived:
            wrong += 1
            problems.append(
                f"{contest_label(contest)}: its seed is {contest['seed']}, but the {whose}'s "
                f'seed gives {derived} (SHA-256 of "<{whose} seed>:{part}:{contest["id"]}")'
            )
    if not wrong and (contests or note_without_parts):
        notes.append(
            f"the seed of each of the {len(contests)} {part}(s) is the SHA-256 of "
            f'"<{whose} seed>:{part}:<contest id>"'
        )
    return problems, notes


def _recount_vote(
    state: Verification, outcomes: Outcomes, contest: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """Problems and notes of one assembly vote's recount (``count_assembly_vote``)."""
    label = contest_label(contest)
    recorded = contest["count"]
    if recorded is None:
        return [f"{label}: a vote, but its count is null"], []
    ballots = state.ballots.get(contest["id"])
    if ballots is None or not ballots.countable:
        return [f"{label}: not recounted: its ballots are not valid (step 5)"], []
    method = contest["method"]
    items = contest["ballots"]["items"]
    try:
        expected, elected, excluded = count_assembly_vote(
            method,
            [(c["id"], c["ballot_name"]) for c in contest["candidates"]],
            items,
            contest.get("weighting"),
            contest["seed"],
        )
    except (BallotError, LotNeeded, ValueError) as error:
        return [f"{label}: the ballots cannot be recounted: {error}"], []
    outcomes[contest["id"]] = (elected, excluded)
    problems = []
    if not same_json(recorded, expected):
        problems.append(f"{label}: {_count_difference(recorded, expected)}")
    lots_note = ""
    if method != "confirmation":
        lots_problems, lots_note = _lots(label, contest, recorded)
        problems += lots_problems
    if not same_json(contest["elected"], elected):
        problems.append(
            f"{label}: elected is {as_json(contest['elected'])}, but the recount elects "
            f"{as_json(elected)}"
        )
    if problems:
        return problems, []
    weighted = " weighted by constituency" if contest.get("weighting") else ""
    names = {c["id"]: c["ballot_name"] for c in contest["candidates"]}
    if method == "confirmation":
        verdict = "carried" if expected["carried"] else "not carried"
        outcome = (
            f"yes {expected['yes']}, no {expected['no']}, abstain {expected['abstain']}: {verdict}"
        )
    elif elected:
        outcome = f"elected {names[elected[0]]}"
    else:
        outcome = f"no majority; excluded {', '.join(names[i] for i in excluded)}"
    return [], [
        f"{label}: recounted {len(items):,} ballot(s) by {_METHOD_WORDS[method]}{weighted}: "
        f"the same count; {outcome}",
        lots_note,
    ]


def _assembly_checks(body: dict[str, Any], outcomes: Outcomes) -> tuple[list[str], list[str]]:
    """Problems and notes of what makes the votes one assembly's: the seed revealed is
    the one committed to and every vote's seed is made from it; each round after one
    that excluded someone is between those still standing; the declared result is the
    last vote's."""
    assembly = body["assembly"]
    contests = body["contests"]
    problems, notes = _seed_checks(
        body,
        "assembly",
        published="any vote",
        part="vote",
        commit=assembly_seed_sha256,
        derive=vote_seed,
        note_without_parts=False,
    )
    for before, after in pairwise(contests):
        problems += _next_vote(outcomes, before, after)
    result_problems, result_note = _result(outcomes, assembly, contests)
    problems += result_problems
    if not problems:
        notes.append(result_note)
    return problems, notes


def _next_vote(outcomes: Outcomes, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What is wrong with ``after`` following ``before``: only a round that elected
    nobody and excluded someone is followed, by a vote between those still standing."""
    outcome = outcomes.get(before["id"])
    if outcome is None:
        return [
            f"{contest_label(after)}: not checked against {contest_label(before)}, which was "
            "not recounted"
        ]
    elected, excluded = outcome
    names = {c["id"]: c["ballot_name"] for c in before["candidates"]}
    if elected or before["method"] != "round" or not excluded:
        ended = f"elected {names[elected[0]]}" if elected else f"was a {before['method']} vote"
        if before["method"] == "confirmation":
            ended = "was a confirmation vote"
        return [
            f"{contest_label(before)} {ended}, which ends the voting, but "
            f"{contest_label(after)} follows it"
        ]
    continuing = [c["id"] for c in before["candidates"] if c["id"] not in excluded]
    ids = [c["id"] for c in after["candidates"]]
    if sorted(ids) != sorted(continuing):
        return [
            f"{contest_label(after)}: its candidates are {as_json(ids)}, but after "
            f"{contest_label(before)} excluded {', '.join(names[i] for i in excluded)} the "
            f"candidates still standing are {as_json(continuing)}"
        ]
    return []


def _result(
    outcomes: Outcomes,
    assembly: dict[str, Any],
    contests: list[dict[str, Any]],
) -> tuple[list[str], str]:
    """Problems with ``assembly.result``, and a note of it: it is the last vote's."""
    result = assembly["result"]
    outcome, leader, term = result["outcome"], result["leader"], result["term"]
    problems = []
    if outcome != "elected":
        for key in ("leader", "term"):
            if result[key] is not None:
                problems.append(
                    f"assembly.result.{key} is {as_json(result[key])}, but the outcome is "
                    f"{as_json(outcome)}: it must be null"
                )
    elif term is not None and term["starts_on"] > term["ends_on"]:
        problems.append(
            f"assembly.result.term starts on {term['starts_on']}, after it ends on "
            f"{term['ends_on']}"
        )
    if not contests:
        if outcome != "no-candidates":
            problems.append(
                f"assembly.result.outcome is {as_json(outcome)}, but the record has no votes: "
                'with none the outcome is "no-candidates"'
            )
        return problems, "assembly.result: no candidates stood, so there was no vote"
    last = contests[-1]
    label = contest_label(last)
    found = outcomes.get(last["id"])
    if found is None:
        return [
            *problems,
            f"assembly.result not checked: the last vote, {label}, was not recounted",
        ], ""
    elected, excluded = found
    names = {c["id"]: c["ballot_name"] for c in last["candidates"]}
    if elected:
        expected, who = "elected", {"candidate": elected[0], "name": names[elected[0]]}
        how = "confirmed as" if last["method"] == "confirmation" else "elected"
        note = (
            f"assembly.result: {names[elected[0]]} {how} {assembly['leader_title']} by "
            f"the last vote, {label}"
        )
    elif last["method"] == "confirmation":
        expected, who = "not-confirmed", None
        note = f"assembly.result: not confirmed by the last vote, {label}"
    else:
        return [
            *problems,
            f"{label}, the last vote, elected nobody (it excluded "
            f"{', '.join(names[i] for i in excluded)}): the record ends before the "
            f"assembly chose its {assembly['leader_title']}",
        ], ""
    if outcome != expected:
        problems.append(
            f"assembly.result.outcome is {as_json(outcome)}, but the last vote, {label}, "
            f"gives {as_json(expected)}"
        )
    elif who is not None and not same_json(leader, who):
        problems.append(
            f"assembly.result.leader is {as_json(leader)}, but the last vote, {label}, "
            f"elected {as_json(who)}"
        )
    return problems, note


def _recount_contest(state: Verification, contest: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Problems and notes of one contested contest's recount."""
    label = contest_label(contest)
    recorded = contest["count"]
    if recorded is None:
        return [f"{label}: contested, but its count is null"], []
    ballots = state.ballots.get(contest["id"])
    if ballots is None or not ballots.countable:
        return [f"{label}: not recounted: its ballots are not valid (step 5)"], []
    ids = [c["id"] for c in contest["candidates"]]
    position = {candidate_id: index for index, candidate_id in enumerate(ids)}
    weights = {tuple(position[i] for i in ranking): n for ranking, n in ballots.rankings.items()}
    candidates = [Candidate(f"c{c['id']}", c["ballot_name"]) for c in contest["candidates"]]
    # The rule set the record names; a record made before rule sets were selectable names
    # none and was counted by the Scottish rules.
    rules = contest.get("rules", DEFAULT_RULES)
    try:
        result = count(
            build_profile(candidates, weights),
            contest["method"],
            contest["seats"],
            seed=contest["seed"],
            rules=rules,
        )
    except (BallotError, LotNeeded, ValueError) as error:
        return [f"{label}: the ballots cannot be recounted: {error}"], []
    expected = json.loads(json.dumps(result.to_dict()))
    problems = []
    if not same_json(recorded, expected):
        problems.append(f"{label}: {_count_difference(recorded, expected)}")
    lots_problems, lots_note = _lots(label, contest, recorded)
    problems += lots_problems
    elected = [int(c[1:]) for c in result.elected]
    if not same_json(contest["elected"], elected):
        problems.append(
            f"{label}: elected is {as_json(contest['elected'])}, but the recount elects "
            f"{as_json(elected)} (in order of election)"
        )
    if problems:
        return problems, []
    return [], [
        f"{label}: recounted {sum(ballots.rankings.values()):,} ballot(s) by "
        f"{contest['method']}{f' ({rules} rules)' if contest['method'] == 'stv' else ''} "
        f"for {contest['seats']} seat(s): the same count, "
        f"{len(expected['stages'])} stage(s), elected {as_json(elected)}",
        lots_note,
    ]


def _uncontested(contest: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Problems and a note of an uncontested contest: no count, no ballots, every
    candidate elected."""
    label = contest_label(contest)
    ids = [c["id"] for c in contest["candidates"]]
    problems = []
    if contest["count"] is not None:
        problems.append(f"{label}: uncontested, but it has a count (it must be null)")
    if len(ids) > contest["seats"]:
        problems.append(
            f"{label}: marked uncontested, but {len(ids)} candidates stood for "
            f"{contest['seats']} seat(s)"
        )
    elected = contest["elected"]
    if sorted(elected) != sorted(ids):
        problems.append(
            f"{label}: uncontested, so every candidate {as_json(ids)} is elected, but elected is "
            f"{as_json(elected)}"
        )
    if contest["ballots"]["items"] or contest["ballots"]["count"]:
        problems.append(f"{label}: uncontested, but it has ballots")
    if problems:
        return problems, []
    names = ", ".join(c["ballot_name"] for c in contest["candidates"])
    return [], [f"{label}: uncontested: {names or 'nobody'} elected without a poll"]


def _count_difference(recorded: Any, expected: dict[str, Any]) -> str:
    """The first place where the recorded count differs from the recount, in words."""
    if not isinstance(recorded, dict):
        return f"the recorded count is {json_kind(recorded)}, not a count"
    for key, value in expected.items():
        if key not in recorded:
            return f"the recorded count lacks {key!r}"
        if same_json(recorded[key], value):
            continue
        if key == "stages":
            return _stages_difference(recorded[key], value)
        if key == "lots":
            return _lots_difference(recorded[key], value)
        return (
            f"count.{key} is recorded as {as_json(recorded[key])}, but the recount gives "
            f"{as_json(value)}"
        )
    extra = sorted(set(recorded) - set(expected))
    return f"the recorded count has {', '.join(map(repr, extra))}, which a count does not"


def _stages_difference(recorded: Any, expected: list[dict[str, Any]]) -> str:
    if not isinstance(recorded, list):
        return "count.stages is not a list of stages"
    for index, stage in enumerate(expected):
        if index >= len(recorded):
            return (
                f"the recorded count stops after stage {index}; the recount has stage {index + 1}"
            )
        found = _stage_difference(recorded[index], stage)
        if found:
            return found
    return f"the recorded count has {len(recorded)} stages; the recount has {len(expected)}"


def _lots_difference(recorded: Any, expected: dict[str, Any]) -> str:
    draws = recorded.get("draws") if isinstance(recorded, dict) else None
    if not isinstance(draws, list) or not same_json(
        {k: v for k, v in recorded.items() if k != "draws"},
        {k: v for k, v in expected.items() if k != "draws"},
    ):
        return (
            f"count.lots is recorded as {as_json(recorded)}, but the recount gives "
            f"{as_json(expected)}"
        )
    for number, (found, again) in enumerate(zip(draws, expected["draws"], strict=False), start=1):
        if not same_json(found, again):
            return (
                f"lot {number} is recorded as {as_json(found)}, but the recount draws "
                f"{as_json(again)}"
            )
    return (
        f"the recorded count drew {len(draws)} lot(s); the recount draws {len(expected['draws'])}"
    )


def _stage_difference(recorded: Any, expected: dict[str, Any]) -> str | None:
    number = expected["number"]
    what = f"stage {number} ({expected['action']}"
    what += f" of {expected['candidate']})" if expected["candidate"] else ")"
    if not isinstance(recorded, dict):
        return f"{what}: the recorded stage is {json_kind(recorded)}"
    for key, value in expected.items():
        found = recorded.get(key)
        if isinstance(value, dict) and isinstance(found, dict):
            for inner, inner_value in value.items():
                if not same_json(found.get(inner), inner_value):
                    return (
                        f"{what}, {key}.{inner}: recorded {as_json(found.get(inner))}, recounted "
                        f"{as_json(inner_value)}"
                    )
        if not same_json(found, value):
            return f"{what}, {key}: recorded {as_json(found)}, recounted {as_json(value)}"
    extra = sorted(set(recorded) - set(expected))
    if extra:
        return f"{what} has {', '.join(map(repr, extra))}, which a stage does not"
    return None


def _lots(label: str, contest: dict[str, Any], recorded: Any) -> tuple[list[str], str]:
    """Problems with the recorded lots, and a note of them: the seed is the contest's, and
    each draw, drawn again from the seed, gives the same choice, counter and digest."""
    lots = recorded.get("lots") if isinstance(recorded, dict) else None
    if not isinstance(lots, dict):
        return [f"{label}: the recorded count has no lots"], ""
    seed = contest["seed"]
    if lots.get("seed") != seed:
        return [
            f"{label}: count.lots.seed is {as_json(lots.get('seed'))}, but the contest's seed is "
            f"{seed}"
        ], ""
    draws = lots.get("draws")
    if not isinstance(draws, list):
        return [f"{label}: count.lots.draws is not a list of draws"], ""
    problems = []
    for number, recorded_draw in enumerate(draws, start=1):
        problem = _draw_problem(bytes.fromhex(seed), recorded_draw)
        if problem:
            problems.append(f"{label}: lot {number} {problem}")
    if problems:
        return problems, ""
    if not draws:
        return [], f"{label}: no lots were needed"
    chosen = ", ".join(str(d["chosen"]) for d in draws)
    return [], (
        f"{label}: {len(draws)} lot(s) drawn again from the seed {short(seed)}: the same "
        f"choice(s) ({chosen})"
    )


def _draw_problem(seed: bytes, recorded: Any) -> str | None:
    if (
        not isinstance(recorded, dict)
        or not isinstance(recorded.get("context"), str)
        or not isinstance(recorded.get("options"), list)
        or not recorded["options"]
        or not all(isinstance(o, str) for o in recorded["options"])
    ):
        return "is not a draw (context, options, chosen, counter, digest)"
    again = draw(seed, recorded["context"], recorded["options"])
    for name in ("chosen", "counter", "digest"):
        if not same_json(recorded.get(name), getattr(again, name)):
            return (
                f"({recorded['context']}): {name} is recorded as {as_json(recorded.get(name))}, "
                f"but drawn again it is {as_json(getattr(again, name))}"
            )
    return None
