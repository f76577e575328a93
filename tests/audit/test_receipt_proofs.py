"""A receipt carries its proof: checked alone with `offline_verify.py --receipt R --key K [--witness W]`.

Valid, and broken every way: the payload, the event, a proof hash, the leaf
index, the tree size, the checkpoint's signature or root, a missing witness.
"""

import copy
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction

from audit import tlog
from audit.checkpoints import checkpoint_create, cosignatures_add, witness_add
from audit.models import Checkpoint
from audit.receipts import receipt_bundle, receipt_issue, receipt_verify
from audit.signing import signer
from tests.audit.test_export_offline_verify import verify
from tests.support.audit import ACTOR, record

pytestmark = pytest.mark.django_db
WITNESS_KEY = Ed25519PrivateKey.generate()
WITNESS = tlog.Verifier("fsa.example/witness", tlog.SIG_COSIGNATURE_V1, WITNESS_KEY.public_key())


def _cosign(checkpoint: Checkpoint) -> None:
    text = tlog.note_parse(checkpoint.note).text
    cosignatures_add(note=checkpoint.note + tlog.cosign(text, WITNESS.name, WITNESS_KEY, int(time.time())).line())


@pytest.fixture
def bundle() -> dict:
    witness_add(actor=ACTOR, vkey=WITNESS.vkey())
    record(5)
    with transaction.atomic():
        receipt = receipt_issue(actor=ACTOR, subject=("reserves.payout", 7), payload={"amount_jpy": 8_854_900})
    record(6)
    _cosign(checkpoint_create())
    return json.loads(json.dumps(receipt_bundle(receipt)))


def _files(tmp_path, bundle: dict) -> tuple[str, str]:
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(bundle, ensure_ascii=False))
    key = tmp_path / "log.pem"
    key.write_text(signer().public_key_pem)
    return str(receipt), str(key)


def test_a_receipt_verifies_alone_offline_with_the_log_key_and_the_witness(bundle, tmp_path):
    receipt, key = _files(tmp_path, bundle)
    started = time.perf_counter()
    code, out, err = verify("--receipt", receipt, "--key", key, "--witness", WITNESS.vkey())
    assert code == 0, out + err
    assert time.perf_counter() - started < 5  # a process start; the check itself takes milliseconds
    assert f"recorded as event #7, included in the tree of {bundle['proof']['tree_size']} events" in out
    assert f"OK: cosigned by witness {WITNESS.name}" in out
    origin = bundle["proof"]["checkpoint"].split("\n", 1)[0]
    code, out, _ = verify(
        "--receipt", receipt, "--key", tlog.log_verifier_from_pem(signer().public_key_pem.encode(), origin).vkey()
    )
    assert code == 0, out


def _break(bundle: dict, how: str) -> dict:
    forged = copy.deepcopy(bundle)
    proof = forged["proof"]
    if how == "payload":
        forged["payload"]["amount_jpy"] += 1
    elif how == "event":
        proof["event"]["actor"] = "someone else"
    elif how == "event_of_another_receipt":
        proof["event"]["data"]["receipt_id"] = "00000000-0000-0000-0000-000000000000"
    elif how == "inclusion":
        first = tlog.unb64(proof["inclusion"][0], "x")
        proof["inclusion"][0] = tlog.b64(bytes([first[0] ^ 1]) + first[1:])
    elif how == "inclusion_short":
        proof["inclusion"].pop()
    elif how == "leaf_index":
        proof["leaf_index"] += 1
    elif how == "tree_size":
        proof["tree_size"] -= 1
    elif how == "checkpoint_root":
        text = proof["checkpoint"]
        lines = text.split("\n")
        lines[2] = tlog.b64(b"\1" * 32)
        proof["checkpoint"] = "\n".join(lines)
    elif how == "checkpoint_forged":
        forger = Ed25519PrivateKey.generate()
        text = proof["checkpoint"].split("\n\n")[0] + "\n"
        proof["checkpoint"] = tlog.Note(text, (tlog.note_sign(text, text.split("\n")[0], forger),)).render()
    elif how == "no_cosignature":
        proof["checkpoint"] = "\n".join(proof["checkpoint"].split("\n")[:-2]) + "\n"
    elif how == "no_proof":
        forged["proof"] = None
    elif how == "extra_field":
        proof["note"] = "x"
    return forged


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("payload", "signature does not verify"),
        ("event", "does not lead to the checkpoint's root"),
        ("event_of_another_receipt", "not the receipt event"),
        ("inclusion", "does not lead to the checkpoint's root"),
        ("inclusion_short", "too short"),
        ("leaf_index", "another leaf"),
        ("tree_size", "the proof is for a tree of"),
        ("checkpoint_root", "does not verify"),
        ("checkpoint_forged", "no signature of the log key"),
        ("no_cosignature", "no cosignature of the witness"),
        ("no_proof", "carries no proof yet"),
        ("extra_field", "must hold exactly"),
    ],
)
def test_a_receipt_broken_any_way_fails(bundle, how, message):
    keys = [tlog.public_key_from_pem(signer().public_key_pem.encode())]
    tlog.receipt_verify(bundle, keys=keys, witnesses=[WITNESS])
    with pytest.raises(tlog.FormatError, match=message):
        tlog.receipt_verify(_break(bundle, how), keys=keys, witnesses=[WITNESS])


def test_offline_script_fails_a_broken_receipt_and_the_server_check_agrees(bundle, tmp_path):
    receipt, key = _files(tmp_path, _break(bundle, "inclusion"))
    code, out, _ = verify("--receipt", receipt, "--key", key)
    assert code == 1
    assert "FAIL: the inclusion proof does not lead to the checkpoint's root" in out
    check = receipt_verify(_break(bundle, "inclusion"))
    assert check.proof_valid is False and not check.ok
    good = receipt_verify(bundle)
    assert good.ok and good.proof_valid and good.witnesses == [WITNESS.name]


def test_a_receipt_with_another_log_key_fails(bundle, tmp_path):
    receipt, _ = _files(tmp_path, bundle)
    other = tmp_path / "other.pem"
    from audit.signing import key_generate, signer_from_pem

    other.write_text(signer_from_pem(key_generate()).public_key_pem)
    code, out, _ = verify("--receipt", receipt, "--key", str(other))
    assert code == 1
    assert "not a key you trust" in out


def test_public_proof_api_serves_what_a_receipt_needs(bundle, api):
    response = api.get(f"/api/audit/receipts/{bundle['receipt_id']}/proof/")
    assert response.status_code == 200
    assert response.json() == bundle["proof"]
    assert api.get("/api/audit/receipts/00000000-0000-0000-0000-000000000000/proof/").status_code == 404
