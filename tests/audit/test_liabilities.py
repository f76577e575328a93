"""Proofs of liabilities: a Merkle-sum tree over eligible claims, signed; each customer's path checks alone."""

import json
import random

import pytest

from audit import tlog
from audit.liabilities import LiabilityInput, liabilities_latest, liabilities_publish, liability_proof
from audit.models import Event, LiabilityNode
from audit.signing import signer
from tests.audit.test_export_offline_verify import verify
from tests.support.audit import ACTOR

pytestmark = pytest.mark.django_db


def _keys():
    return [tlog.public_key_from_pem(signer().public_key_pem.encode())]


def _claims(n: int) -> list[LiabilityInput]:
    rng = random.Random(n)
    return [LiabilityInput(f"C-{i:04d}", f"ACC-{i:05d}", rng.choice([0, 1, 7, 88_549, 3_838_593])) for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 7, 33])
def test_every_claims_path_reaches_the_signed_root_and_total(n):
    claims = _claims(n)

    tree = liabilities_publish(actor=ACTOR, incident_code="inc-1", claims=claims)

    assert (tree.count, tree.total_jpy) == (n, sum(c.amount_jpy for c in claims))
    assert LiabilityNode.objects.filter(tree=tree, height=0).count() == n
    event = Event.objects.get(seq=tree.event_id)
    assert event.action == "liabilities.published"
    assert event.data == {"incident": "inc-1", "count": n, "total_jpy": tree.total_jpy, "root": tree.root}
    for claim in claims:
        proof = liability_proof(tree=tree, claim_ref=claim.claim_ref)
        head = tlog.liability_proof_verify(json.loads(json.dumps(proof)), keys=_keys())
        assert (head.total, head.count, head.incident) == (tree.total_jpy, n, "inc-1")
        assert proof["leaf"]["amount_jpy"] == claim.amount_jpy
    assert liability_proof(tree=tree, claim_ref="C-9999") is None


def test_leaves_are_salted_and_ordered_by_hash_not_by_filing():
    first = liabilities_publish(actor=ACTOR, incident_code="inc-1", claims=_claims(8))
    second = liabilities_publish(actor=ACTOR, incident_code="inc-1", claims=_claims(8))
    assert first.root != second.root  # fresh salts: the same claims give another root
    assert liabilities_latest(incident_code="inc-1") == second
    positions = [liability_proof(tree=second, claim_ref=f"C-{i:04d}")["leaf_index"] for i in range(8)]
    assert sorted(positions) == list(range(8))
    assert positions != list(range(8))


def test_an_empty_incident_has_a_zero_total():
    tree = liabilities_publish(actor=ACTOR, incident_code="inc-0", claims=[])
    assert (tree.count, tree.total_jpy, tree.root) == (0, 0, tlog.EMPTY_ROOT.hex())


def test_negative_amounts_are_refused():
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        liabilities_publish(actor=ACTOR, incident_code="inc-1", claims=[LiabilityInput("C-1", "A", -1)])
    assert not Event.objects.filter(action="liabilities.published").exists()


def test_a_proof_checks_offline_and_fails_when_the_sum_is_bent(tmp_path):
    tree = liabilities_publish(actor=ACTOR, incident_code="inc-1", claims=_claims(7))
    proof = liability_proof(tree=tree, claim_ref="C-0003")
    good, bent, key = tmp_path / "good.json", tmp_path / "bent.json", tmp_path / "key.pem"
    good.write_text(json.dumps(proof))
    proof["path"][0]["sum"] = max(proof["path"][0]["sum"] - 1, 0) if proof["path"][0]["sum"] else 1
    bent.write_text(json.dumps(proof))
    key.write_text(signer().public_key_pem)

    code, out, _ = verify("--liabilities", str(good), "--key", str(key))
    assert code == 0, out
    assert f"is counted in the signed total of incident inc-1: {tree.total_jpy} JPY over 7 claims" in out
    code, out, _ = verify("--liabilities", str(bent), "--key", str(key))
    assert code == 1
    assert "does not lead to the signed root and total" in out
