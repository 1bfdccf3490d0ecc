"""Bounded waits that let the first highstate of both front-ends converge in one run
(found on the container lab, `make lab-test`):

* opennebula.register under pacemaker/rgmanager waits for the cluster to hold the VIP
  (here with oned listening, or answering from the other front-end) before the active_vip
  guard decides; raft/none render no wait.
* opennebula.db master-master: the first CHANGE MASTER waits (bounded) for the peer's
  replication credentials instead of skipping until the next run, and never waits once
  SHOW SLAVE STATUS is set.
Real `salt-call --local state.show_sls` renders (helpers of test_opennebula_frontend).
"""
import pytest

from render.test_opennebula_frontend import args, local_pillar, show


@pytest.mark.render
def test_register_waits_for_the_cluster_vip(salt_call, tmp_path):
    high = show(salt_call, "opennebula.register", minion="cloud-cc02", pillar=local_pillar(tmp_path))
    wait = args(high, "opennebula-register-wait-for-active")
    # an API-level wait (one.wait_ready through the one state), no shell: the VIP here and
    # oned answering, or the VIP answering from the other front-end
    assert wait["_fun"] == "one.oned_ready"
    assert (wait["vip"], wait["timeout"]) == ("192.168.100.10", 180)
    assert "unless" not in wait and "name" not in wait or wait["name"] == \
        "opennebula-register-wait-for-active"
    for sid in [s for s in high if s.startswith("opennebula-register-host-")]:
        assert {"one": "opennebula-register-wait-for-active"} in args(high, sid)["require"]
    high = show(salt_call, "opennebula.register", pillar=local_pillar(tmp_path, "nfs", "raft"))
    for sid in [s for s in high if s.startswith("opennebula-register-")]:
        if sid != "opennebula-register-wait-for-oned":
            assert {"one": "opennebula-register-wait-for-oned"} in args(high, sid)["require"]
    assert args(high, "opennebula-register-wait-for-oned")["_fun"] == "one.oned_ready"
    assert "opennebula-register-wait-for-active" not in high


@pytest.mark.render
def test_db_first_replication_start_waits_for_the_peer(salt_call, tmp_path):
    high = show(salt_call, "opennebula.db", minion="cloud-cc01", pillar=local_pillar(tmp_path))
    start = args(high, "opennebula-db-replication-start")
    # a configured replica: no wait at all (the state reads SHOW SLAVE STATUS first, and test
    # mode never waits: test_one_states); else up to lookup db:peer_wait seconds
    assert start["_fun"] == "one.db_replication"
    assert start["wait"] == 120 and start["name"] == "192.168.100.12"
