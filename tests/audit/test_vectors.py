"""The committed test vectors (docs/vectors/audit-vectors.json) are current and the Python verifier passes them."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from audit import tlog, vectors

PATH = Path(settings.BASE_DIR) / "docs" / "vectors" / "audit-vectors.json"
VECTORS = json.loads(PATH.read_text(encoding="utf-8"))
LOG_KEY = tlog.Verifier.parse(VECTORS["log"]["vkey"]).key
WITNESS = tlog.Verifier.parse(VECTORS["witness"]["vkey"])


def test_the_committed_vectors_are_what_the_generator_writes():
    assert PATH.read_text(encoding="utf-8") == vectors.render(), "run: python audit/vectors.py > " + str(PATH)


def test_canonical_encoding():
    for case in VECTORS["canonical"]:
        if "canonical" in case:
            assert tlog.canonical_json(json.loads(case["json"])).decode() == case["canonical"]
            assert tlog.canonical_parse(case["canonical"].encode()) == json.loads(case["json"])
        else:
            with pytest.raises(tlog.FormatError):
                tlog.canonical_parse(case["line"].encode())


def test_entries_leaves_and_roots():
    leaves = []
    for case in VECTORS["entries"]:
        entry = case["entry"].encode()
        assert tlog.canonical_parse(entry) is not None
        leaves.append(tlog.leaf_hash(entry))
        assert tlog.b64(leaves[-1]) == case["leaf_hash"]
    for case in VECTORS["roots"]:
        assert tlog.b64(tlog.tree_root(leaves[: case["size"]])) == case["root"]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: c.get("why", "valid"))
def test_inclusion(case):
    def run():
        proof = [tlog.unb64(h, "h") for h in case["proof"]]
        leaf = tlog.unb64(case["leaf_hash"], "leaf")
        root = tlog.root_from_inclusion(case["leaf_index"], case["tree_size"], leaf, proof)
        if tlog.b64(root) != case["root"]:
            raise tlog.FormatError("another root")

    if case["valid"]:
        run()
    else:
        with pytest.raises(tlog.FormatError):
            run()


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: c.get("why", "valid"))
def test_consistency(case):
    def run():
        tlog.consistency_verify(
            case["old_size"],
            case["new_size"],
            tlog.unb64(case["old_root"], "r"),
            tlog.unb64(case["new_root"], "r"),
            [tlog.unb64(h, "h") for h in case["proof"]],
        )

    if case["valid"]:
        run()
    else:
        with pytest.raises(tlog.FormatError):
            run()


@pytest.mark.parametrize("case", VECTORS["checkpoints"], ids=lambda c: c.get("why", "valid"))
def test_checkpoints(case):
    log = tlog.Verifier(VECTORS["log"]["origin"], tlog.SIG_ED25519, LOG_KEY)
    if case["valid"]:
        checkpoint, _, cosigned = tlog.checkpoint_open(case["note"], log, [WITNESS])
        assert (checkpoint.size, tlog.b64(checkpoint.root)) == (case["size"], case["root"])
        assert sorted(cosigned) == case["cosigned_by"]
    else:
        with pytest.raises(tlog.FormatError):
            tlog.checkpoint_open(case["note"], log, [WITNESS])


@pytest.mark.parametrize("case", VECTORS["receipts"], ids=lambda c: c.get("why", "valid"))
def test_receipts(case):
    if case["valid"]:
        tlog.receipt_verify(case["bundle"], keys=[LOG_KEY], witnesses=[WITNESS])
    else:
        with pytest.raises(tlog.FormatError):
            tlog.receipt_verify(case["bundle"], keys=[LOG_KEY], witnesses=[WITNESS])


@pytest.mark.parametrize("case", VECTORS["liabilities"], ids=lambda c: c.get("why", "valid"))
def test_liabilities(case):
    if case["valid"]:
        assert tlog.liability_proof_verify(case["proof"], keys=[LOG_KEY]).total == case["total_jpy"]
    else:
        with pytest.raises(tlog.FormatError):
            tlog.liability_proof_verify(case["proof"], keys=[LOG_KEY])
