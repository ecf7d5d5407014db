"""The churn model: what each transition says the bus must show (pure, no processes)."""

from __future__ import annotations

import pytest

from saltsim.churn.machine import _settled_key
from saltsim.churn.model import ChurnModel, Expected


def tags(effect: object) -> list[str]:
    return [e.describe() for e in effect.expected]  # type: ignore[attr-defined]


def model_with(*ids: str) -> ChurnModel:
    model = ChurnModel()
    for minion_id in ids:
        model.add(minion_id)
    return model


def connected(model: ChurnModel, minion_id: str) -> None:
    model.start(minion_id)
    model.accept(minion_id)


def test_a_first_start_pends_then_accept_signs_in_and_starts_up() -> None:
    model = model_with("m1")
    first = model.start("m1")
    assert [e.data for e in first.expected] == [{"id": "m1", "result": True, "act": "pend"}]
    assert "key none -> pending" in first.transitions
    assert model.keys()["pending"] == ["m1"] and model.present() == []
    accepted = model.accept("m1")
    assert [e.tag for e in accepted.expected] == [
        "salt/key",
        "salt/auth",
        "minion_start",
        "salt/minion/m1/start",
        "salt/presence/change",
    ]
    assert accepted.starts == {"m1"} and accepted.new == {"m1"} and accepted.key_event == "accept"
    assert model.present() == ["m1"]


def test_a_restarted_process_starts_up_again_but_a_resumed_one_does_not() -> None:
    model = model_with("m1")
    connected(model, "m1")
    assert model.kill("m1").lost == {"m1"}
    again = model.start("m1")
    assert again.starts == {"m1"} and again.new == {"m1"}
    assert "present -> lost -> new again" in again.transitions
    assert model.pause("m1").lost == {"m1"}
    resumed = model.unpause("m1")
    assert resumed.new == {"m1"} and resumed.starts == set() and resumed.expected[-1].contains
    assert "unpause -> new" in resumed.transitions


def test_delete_of_a_running_minions_accepted_key_quiets_it_until_a_publication() -> None:
    """As a real minion: no request of its own after the delete, so no pend until the next
    publication (which it cannot decrypt: the AES key rotated) reaches it."""
    model = model_with("m1", "m2")
    connected(model, "m1")
    connected(model, "m2")
    effect = model.delete("m1")
    assert effect.lost == {"m1"} and effect.rotation
    assert "deleted minion quiet until a publication" in effect.transitions
    assert [e.tag for e in effect.expected if e.tag != "salt/presence/change"] == ["salt/key"]
    assert model.keys() == {"accepted": ["m2"], "pending": [], "rejected": []}
    assert model.idle().expected == []
    # a master restart does not wake it either: only the accepted minion signs in again
    restart = model.restart_master()
    assert [e.data["id"] for e in restart.expected if e.tag == "salt/auth"] == ["m2"]
    # a job published to m2 reaches m1 too: it signs in and pends
    woken, plan = model.job(["m2"])
    assert plan.minions == ("m2",)
    assert Expected("salt/auth", {"id": "m1", "result": True, "act": "pend"}) in woken.expected
    assert "key accepted -> deleted -> pending again" in woken.transitions
    assert model.keys() == {"accepted": ["m2"], "pending": ["m1"], "rejected": []}
    # accepted again: it signs in without start events (the same process)
    assert model.accept("m1").starts == set()


def test_no_publication_no_wake_and_a_paused_quiet_minion_wakes_on_unpause() -> None:
    model = model_with("m1", "m2")
    connected(model, "m1")
    model.start("m2")  # pending
    model.delete("m1")
    nothing, plan = model.job(["m2"])  # no accepted target: the master publishes nothing
    assert plan.minions == () and nothing.expected == []
    assert model.minions["m1"].quiet
    connected_m2 = model.accept("m2")
    assert connected_m2.new == {"m2"}
    model.pause("m1")
    missed, _ = model.job(["m2"])
    assert not [e for e in missed.expected if e.data.get("id") == "m1"]
    resumed = model.unpause("m1")
    assert Expected("salt/auth", {"id": "m1", "result": True, "act": "pend"}) in resumed.expected
    assert model.keys()["pending"] == ["m1"] and not model.minions["m1"].quiet


def test_a_quiet_minion_restarted_pends_at_once() -> None:
    model = model_with("m1")
    connected(model, "m1")
    model.delete("m1")
    model.kill("m1")
    again = model.start("m1")
    assert Expected("salt/auth", {"id": "m1", "result": True, "act": "pend"}) in again.expected
    assert not model.minions["m1"].quiet
    assert "key accepted -> deleted -> pending again" in again.transitions


def test_a_rejected_minion_exits_and_is_rejected_again_at_its_next_start() -> None:
    model = model_with("m1")
    model.start("m1")
    effect = model.reject("m1")
    assert model.minions["m1"].proc == "exited" and "rejected minion exits" in effect.transitions
    assert {"id": "m1", "result": False} in [dict(e.data) for e in effect.expected]
    model.start("m1")
    assert model.minions["m1"].proc == "exited"


def test_a_master_restart_expects_every_running_minion_to_sign_in_again() -> None:
    model = model_with("m1", "m2", "m3")
    connected(model, "m1")
    connected(model, "m2")
    model.pause("m2")
    model.start("m3")  # pending
    effect = model.restart_master()
    assert effect.restart and effect.new == {"m1"} and effect.lost == set()
    acts = sorted((e.data["id"], e.data["act"]) for e in effect.expected if e.tag == "salt/auth")
    assert acts == [("m1", "accept"), ("m3", "pend")]
    resumed = model.unpause("m2")  # its session died with the old master
    assert [e.tag for e in resumed.expected][:1] == ["salt/auth"] and resumed.new == {"m2"}


def test_a_paused_minion_whose_key_was_accepted_meanwhile_starts_up_on_unpause() -> None:
    model = model_with("m1")
    model.start("m1")
    model.pause("m1")
    assert model.accept("m1").new == set()
    resumed = model.unpause("m1")
    assert resumed.starts == {"m1"} and resumed.new == {"m1"}


def test_a_paused_minion_is_killed_not_stopped() -> None:
    model = model_with("m1")
    connected(model, "m1")
    model.pause("m1")
    with pytest.raises(ValueError, match="no running or cut process"):
        model.stop("m1")
    assert model.kill("m1").lost == set()  # it was lost when it fell silent


def test_a_job_plans_who_must_and_who_may_answer() -> None:
    model = model_with("m1", "m2", "m3", "m4")
    connected(model, "m1")
    connected(model, "m2")
    model.pause("m2")
    model.start("m3")  # pending, running
    _, plan = model.job(["m4", "m3", "m2", "m1"])
    assert plan.minions == ("m2", "m1") and plan.missing == ("m4", "m3")
    assert plan.required == {"m1"} and plan.allowed == {"m1", "m2", "m3"}


@pytest.mark.parametrize(
    ("action", "minion_id"),
    [("start", "m1"), ("accept", "m2"), ("reject", "m2"), ("delete", "m2"), ("unpause", "m1")],
)
def test_impossible_transitions_are_refused(action: str, minion_id: str) -> None:
    model = model_with("m1", "m2")
    model.start("m1")
    with pytest.raises(ValueError):
        getattr(model, action)(minion_id)


def test_unknown_minions_and_duplicates_are_refused() -> None:
    model = model_with("m1")
    with pytest.raises(KeyError):
        model.kill("nope")
    with pytest.raises(ValueError):
        model.add("m1")


def test_a_container_cut_off_stays_cut_off_through_kill_and_start() -> None:
    model = model_with("m1")
    connected(model, "m1")
    assert model.disconnect("m1").lost == {"m1"}
    model.kill("m1")
    restarted = model.start("m1")  # runs, but cannot reach the master: no sign-in
    assert restarted.expected == [] and model.minions["m1"].proc == "cut"
    back = model.reconnect("m1")
    assert back.new == {"m1"} and back.starts == {"m1"}
    model.disconnect("m1")
    model.stop("m1")
    assert model.reconnect("m1").expected == [] and not model.minions["m1"].cut_off
    with pytest.raises(ValueError, match="not off the network"):
        model.reconnect("m1")


def test_a_publication_sent_while_cut_off_keeps_the_key_from_delete_until_a_restart() -> None:
    """Found by the docker campaign (seed 31): a job published while m2 was cut off reached
    it ~10 ticks after the reconnect (TCP back-off); its key deleted in between, m2 then
    pended at a moment no step could wait for. Delete skips such a minion until its
    process restarts; a paused one (its connection stays up) is not affected."""
    model = model_with("m1", "m2", "m3")
    for minion_id in ("m1", "m2", "m3"):
        connected(model, minion_id)
    model.disconnect("m2")
    model.pause("m3")
    model.job(["m1", "m2"])
    model.reconnect("m2")
    model.unpause("m3")
    states = model.minions
    assert states["m2"].publication_in_flight and not _settled_key(states["m2"])
    assert not states["m3"].publication_in_flight and _settled_key(states["m3"])
    assert _settled_key(states["m1"])
    model.kill("m2")
    model.start("m2")
    assert not states["m2"].publication_in_flight and _settled_key(states["m2"])
