"""The log's rules (audit/tlog.py) on their own: canonical JSON, proofs, notes, cosignatures, the sum tree.

Every proof is tested valid and then broken every way we know: a changed
hash, a hash added or dropped, another index or size, another root, a
swapped order, an out-of-range number.
"""

import hashlib
import struct

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import tlog

LEAVES = [tlog.leaf_hash(f"entry {i}".encode()) for i in range(40)]
FULL = tlog.memory_full_hash(LEAVES)


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162's MTH written as the RFC states it, recursively: the reference for the iterative code."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = tlog.largest_power_of_two_below(len(leaves))
    return tlog.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


# --- Canonical JSON -----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-tlog.MAX_SAFE_INTEGER, max_value=tlog.MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"]), max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(JSON_VALUES)
def test_canonical_json_is_rfc8785(value):
    """Our fast encoder gives exactly the bytes of the rfc8785 package (the independent reference)."""
    encoded = tlog.canonical_json(value)
    assert encoded == rfc8785.dumps(value)
    assert tlog.canonical_parse(encoded) == value


def test_keys_outside_the_bmp_sort_by_utf16_code_units():
    value = {"\U0001f600": 1, "\ufb01": 2, "a": 3}  # U+1F600 is D83D DE00 in UTF-16: before U+FB01
    assert tlog.canonical_json(value) == rfc8785.dumps(value)
    assert tlog.canonical_json(value).decode().index("\U0001f600") < tlog.canonical_json(value).decode().index("\ufb01")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0.5, "floats"),
        (2**53, "outside"),
        (-(2**53), "outside"),
        ({1: "x"}, "keys must be strings"),
        ("\ud800", "lone surrogate"),
        (b"x", "not a JSON value"),
    ],
)
def test_canonical_json_refuses_what_the_domain_excludes(value, message):
    with pytest.raises(tlog.FormatError, match=message):
        tlog.canonical_json(value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"a":1,"a":2}', "duplicate key"),
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"a": 1}', "canonical"),
        (b'{"a":1.0}', "not an integer"),
        (b'{"a":1e2}', "not an integer"),
        (b'{"a":NaN}', "not JSON"),
        (b'{"a":"\\u00e9"}', "canonical"),
        (b'{"a":9007199254740992}', "outside"),
        (b"\xff", "not UTF-8"),
        (b'{"a":', "not JSON"),
    ],
)
def test_canonical_parse_refuses_every_non_canonical_line(line, message):
    with pytest.raises(tlog.FormatError, match=message):
        tlog.canonical_parse(line)


# --- Tree hashing and proofs --------------------------------------------------------------------


def test_roots_follow_rfc9162():
    assert tlog.tree_root([]) == hashlib.sha256(b"").digest()
    assert tlog.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert tlog.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    for n in range(0, 40):
        assert tlog.tree_root(LEAVES[:n]) == _mth(LEAVES[:n])


def test_frontier_reports_the_tile_level_subtrees_it_completes():
    leaves = [tlog.leaf_hash(str(i).encode()) for i in range(600)]
    seen = {}
    frontier = tlog.Frontier()
    for leaf in leaves:
        frontier.append(leaf, lambda h, i, v: seen.setdefault((h, i), v))
    assert seen == {(8, 0): _mth(leaves[:256]), (8, 1): _mth(leaves[256:512])}  # heights 8, 16, ...: tile hashes
    assert frontier.root() == _mth(leaves)
    assert tlog.Frontier.unpack(600, frontier.packed()).root() == frontier.root()
    with pytest.raises(tlog.FormatError):
        tlog.Frontier(3, [LEAVES[0]])


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 32, 40])
def test_every_inclusion_proof_verifies(size):
    root = _mth(LEAVES[:size])
    for index in range(size):
        path = tlog.inclusion_path(FULL, index, size)
        assert tlog.root_from_inclusion(index, size, LEAVES[index], path) == root


def test_inclusion_proof_broken_every_way():
    size, index = 13, 6
    root = _mth(LEAVES[:size])
    path = tlog.inclusion_path(FULL, index, size)
    assert len(path) == 4

    def root_of(i=index, n=size, leaf=LEAVES[index], p=None):
        return tlog.root_from_inclusion(i, n, leaf, path if p is None else p)

    assert root_of() == root
    for k in range(len(path)):
        assert root_of(p=[*path[:k], _flip(path[k]), *path[k + 1 :]]) != root  # a sibling changed
    assert root_of(leaf=LEAVES[7]) != root  # another entry
    assert root_of(i=7) != root  # another position
    assert root_of(p=[path[1], path[0], *path[2:]]) != root  # siblings swapped
    with pytest.raises(tlog.FormatError, match="too short"):
        root_of(p=path[:-1])
    with pytest.raises(tlog.FormatError, match="too long"):
        root_of(p=[*path, path[0]])
    with pytest.raises(tlog.FormatError, match=r"too long|too short"):
        root_of(n=size * 4)  # another tree size
    with pytest.raises(tlog.FormatError, match="not below"):
        root_of(i=size)
    with pytest.raises(tlog.FormatError, match="not below"):
        root_of(i=-1)


@pytest.mark.parametrize(("old", "new"), [(1, 1), (1, 2), (2, 3), (3, 7), (4, 8), (6, 40), (7, 8), (16, 33), (0, 5)])
def test_consistency_proofs_verify(old, new):
    proof = tlog.consistency_path(FULL, old, new)
    tlog.consistency_verify(old, new, _mth(LEAVES[:old]), _mth(LEAVES[:new]), proof)


def test_every_consistency_proof_between_small_sizes_verifies():
    for new in range(1, 20):
        for old in range(0, new + 1):
            proof = tlog.consistency_path(FULL, old, new)
            tlog.consistency_verify(old, new, _mth(LEAVES[:old]), _mth(LEAVES[:new]), proof)


def test_consistency_proof_broken_every_way():
    old, new = 6, 13
    old_root, new_root = _mth(LEAVES[:old]), _mth(LEAVES[:new])
    proof = tlog.consistency_path(FULL, old, new)
    rewritten = [*LEAVES[:3], tlog.leaf_hash(b"forged"), *LEAVES[4:]]

    def check(o=old, n=new, a=old_root, b=new_root, p=None):
        tlog.consistency_verify(o, n, a, b, proof if p is None else p)

    check()
    for k in range(len(proof)):
        with pytest.raises(tlog.FormatError):
            check(p=[*proof[:k], _flip(proof[k]), *proof[k + 1 :]])
    with pytest.raises(tlog.FormatError, match="old tree was rewritten"):
        check(a=_mth(rewritten[:old]))
    with pytest.raises(tlog.FormatError, match="new root"):
        check(b=_mth(rewritten[:new]))  # the new tree rewrote an old leaf: its proof cannot match both
    with pytest.raises(tlog.FormatError):
        check(p=tlog.consistency_path(tlog.memory_full_hash(rewritten), old, new), b=_mth(rewritten[:new]))
    with pytest.raises(tlog.FormatError):
        check(p=proof[:-1])
    with pytest.raises(tlog.FormatError):
        check(p=[*proof, proof[0]])
    with pytest.raises(tlog.FormatError):
        check(o=5)
    with pytest.raises(tlog.FormatError, match="shrink"):
        check(o=new, n=old)
    with pytest.raises(tlog.FormatError, match="empty"):
        check(p=[])
    with pytest.raises(tlog.FormatError, match="forked"):
        tlog.consistency_verify(old, old, old_root, _flip(old_root), [])
    with pytest.raises(tlog.FormatError, match="must be empty"):
        tlog.consistency_verify(old, old, old_root, old_root, proof)


# --- Signed notes, checkpoints, cosignatures ----------------------------------------------------

LOG_KEY = Ed25519PrivateKey.generate()
WITNESS_KEY = Ed25519PrivateKey.generate()
ORIGIN = "claims.example/audit"
LOG = tlog.Verifier(ORIGIN, tlog.SIG_ED25519, LOG_KEY.public_key())
WITNESS = tlog.Verifier("fsa.example/witness", tlog.SIG_COSIGNATURE_V1, WITNESS_KEY.public_key())


def _signed(size: int = 13, root: bytes | None = None, *, cosign: bool = False) -> str:
    text = tlog.Checkpoint(ORIGIN, size, root or _mth(LEAVES[:size])).text()
    signatures = [tlog.note_sign(text, ORIGIN, LOG_KEY)]
    if cosign:
        signatures.append(tlog.cosign(text, WITNESS.name, WITNESS_KEY, 1_700_000_000))
    return tlog.Note(text, tuple(signatures)).render()


def test_checkpoint_note_opens_with_the_log_key_and_the_witness():
    note = _signed(cosign=True)
    checkpoint, parsed, cosigned = tlog.checkpoint_open(note, LOG, [WITNESS])
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 13, _mth(LEAVES[:13]))
    assert cosigned == {WITNESS.name: 1_700_000_000}
    assert note.startswith(f"{ORIGIN}\n13\n")
    assert (
        parsed.signatures[0].key_id
        == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + tlog.raw_public_key(LOG.key)).digest()[:4]
    )


def test_checkpoint_note_broken_every_way():
    note = _signed(cosign=True)
    text, signatures = note.split("\n\n", 1)
    other = tlog.Verifier(ORIGIN, tlog.SIG_ED25519, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(tlog.FormatError, match="no signature of the log key"):
        tlog.checkpoint_open(note, other)
    with pytest.raises(tlog.FormatError, match="does not verify"):
        tlog.checkpoint_open(note.replace("\n13\n", "\n14\n", 1), LOG)  # the size changed under the signature
    cosig = tlog.note_parse(note).signatures[1]
    tampered = tlog.NoteSignature(cosig.name, cosig.key_id, cosig.signature[:-1] + bytes([cosig.signature[-1] ^ 1]))
    with pytest.raises(tlog.FormatError, match="does not verify"):
        tlog.checkpoint_open(text + "\n\n" + signatures.split("\n")[0] + "\n" + tampered.line(), LOG, [WITNESS])
    forged_cosig = tlog.cosign(tlog.Checkpoint(ORIGIN, 14, LEAVES[0]).text(), WITNESS.name, WITNESS_KEY, 5)
    with pytest.raises(tlog.FormatError, match="does not verify"):
        tlog.checkpoint_open(note + forged_cosig.line(), LOG, [WITNESS])  # a cosignature of another checkpoint
    _, _, cosigned = tlog.checkpoint_open(_signed(), LOG, [WITNESS])
    assert cosigned == {}  # no cosignature: opens, but the caller sees the witness is missing
    for bad in (
        text + "\n",  # no signature lines
        note.replace("\u2014", "-"),
        note.replace("\n\n", "\n"),
        note[:-1],
        note.replace(ORIGIN, "", 1),
        "x\x01y\n\n" + signatures,
    ):
        with pytest.raises(tlog.FormatError):
            tlog.checkpoint_open(bad, LOG)
    wrong_origin = tlog.Verifier("other.example/log", tlog.SIG_ED25519, LOG_KEY.public_key())
    text_other = tlog.Checkpoint(wrong_origin.name, 1, LEAVES[0]).text()
    other_note = tlog.Note(text_other, (tlog.note_sign(text_other, ORIGIN, LOG_KEY),)).render()
    with pytest.raises(tlog.FormatError, match="origin"):
        tlog.checkpoint_open(other_note, LOG)


@pytest.mark.parametrize(
    "text",
    ["o\n", "o\n1\n", "o\n01\nAAAA\n", "o\n-1\n" + tlog.b64(LEAVES[0]) + "\n", "o\n1\nAAAA\n", "o\n1\n!!\n"],
)
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(tlog.FormatError):
        tlog.checkpoint_parse(text)


def test_cosignature_message_and_timestamp_follow_c2sp():
    text = tlog.Checkpoint(ORIGIN, 3, LEAVES[0]).text()
    signature = tlog.cosign(text, WITNESS.name, WITNESS_KEY, 1_679_315_147)
    assert tlog.cosignature_message(text, 1_679_315_147) == f"cosignature/v1\ntime 1679315147\n{text}".encode()
    assert signature.signature[:8] == struct.pack(">Q", 1_679_315_147)
    assert signature.key_id == WITNESS.key_id
    assert tlog.signature_verify(text, signature, WITNESS) == 1_679_315_147


def test_vkeys_round_trip_and_refuse_tampering():
    assert tlog.Verifier.parse(WITNESS.vkey()) == WITNESS
    name, key_id, material = WITNESS.vkey().split("+", 2)
    for bad in (f"{name}+00000000+{material}", f"{name}x+{key_id}+{material}", f"{name}+{key_id}", "a b+1+AA"):
        with pytest.raises(tlog.FormatError):
            tlog.Verifier.parse(bad)


# --- Merkle-sum tree ----------------------------------------------------------------------------


def _sum_tree(amounts: list[int]):
    leaves = [tlog.sum_leaf(hashlib.sha256(str(i).encode()).digest(), a) for i, a in enumerate(amounts)]
    cache: dict = {}

    def full(h, i):
        if h == 0:
            return leaves[i]
        if (h, i) not in cache:
            cache[(h, i)] = tlog.sum_node(full(h - 1, 2 * i), full(h - 1, 2 * i + 1))
        return cache[(h, i)]

    return leaves, full


def test_sum_tree_paths_reach_the_root_and_total():
    amounts = [5, 0, 120, 7, 99, 1, 3]
    leaves, full = _sum_tree(amounts)
    root = tlog.subtree_hash(full, 0, len(amounts), tlog.sum_node)
    assert root[1] == sum(amounts)
    for index in range(len(amounts)):
        path = tlog.inclusion_path(full, index, len(amounts), tlog.sum_node)
        assert tlog.root_from_inclusion(index, len(amounts), leaves[index], path, tlog.sum_node) == root


def test_sum_tree_refuses_negative_and_overflowing_sums():
    amounts = [5, 10, 20, 40]
    leaves, full = _sum_tree(amounts)
    root = tlog.subtree_hash(full, 0, 4, tlog.sum_node)
    path = tlog.inclusion_path(full, 0, 4, tlog.sum_node)
    with pytest.raises(tlog.FormatError, match="negative"):
        tlog.root_from_inclusion(0, 4, leaves[0], [(path[0][0], -10), path[1]], tlog.sum_node)
    with pytest.raises(tlog.FormatError, match="overflow"):
        tlog.sum_node((LEAVES[0], tlog.MAX_SUM), (LEAVES[1], 1))
    with pytest.raises(tlog.FormatError):
        tlog.sum_leaf(b"c", -1)
    lowered = tlog.root_from_inclusion(0, 4, leaves[0], [(path[0][0], 0), path[1]], tlog.sum_node)
    assert lowered != root  # a sibling sum cannot be changed without changing the root hash
