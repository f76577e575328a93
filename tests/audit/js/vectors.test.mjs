// The JavaScript verifier (static/audit/verify.js) against the committed test vectors, under Node's test runner.
// Run by tests/audit/test_js_verifier.py: node --test tests/audit/js/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";

const require = createRequire(import.meta.url);
const V = require("../../../static/audit/verify.js");
const vectors = JSON.parse(readFileSync(new URL("../../../docs/vectors/audit-vectors.json", import.meta.url)));
const b = (text) => V.fromB64(text, "vector");
const options = { logKeys: [vectors.log.vkey], witnesses: [vectors.witness.vkey] };

test("canonical encoding", () => {
  for (const c of vectors.canonical) {
    if ("canonical" in c) {
      assert.equal(V.canonical(JSON.parse(c.json)), c.canonical);
      assert.deepEqual(V.canonicalParse(c.canonical), JSON.parse(c.json));
    } else {
      assert.throws(() => V.canonicalParse(c.line), V.VerifyError, c.why);
    }
  }
});

test("entries, leaf hashes and roots", async () => {
  const leaves = [];
  for (const c of vectors.entries) {
    V.canonicalParse(c.entry);
    const leaf = await V.leafHash(new TextEncoder().encode(c.entry));
    assert.equal(V.toB64(leaf), c.leaf_hash);
    leaves.push(leaf);
  }
  for (const c of vectors.roots) {
    // Build each root by folding the right edge (RFC 9162 MTH).
    let edge = [];
    for (let i = 0; i < c.size; i++) {
      let value = leaves[i];
      let index = i;
      while (index % 2 === 1) {
        value = await V.nodeHash(edge.pop(), value);
        index = Math.floor(index / 2);
      }
      edge.push(value);
    }
    let root = edge[edge.length - 1];
    for (let i = edge.length - 2; i >= 0; i--) root = await V.nodeHash(edge[i], root);
    assert.equal(V.toB64(root), c.root);
  }
});

test("inclusion proofs", async () => {
  for (const c of vectors.inclusion) {
    const run = async () => {
      const root = await V.rootFromInclusion(c.leaf_index, c.tree_size, b(c.leaf_hash), c.proof.map(b));
      if (V.toB64(root) !== c.root) throw new V.VerifyError("another root");
    };
    if (c.valid) await run();
    else await assert.rejects(run, V.VerifyError, c.why);
  }
});

test("consistency proofs", async () => {
  for (const c of vectors.consistency) {
    const run = () => V.verifyConsistency(c.old_size, c.new_size, b(c.old_root), b(c.new_root), c.proof.map(b));
    if (c.valid) await run();
    else await assert.rejects(run, V.VerifyError, c.why);
  }
});

test("checkpoints", async () => {
  const log = await V.parseVkey(vectors.log.vkey);
  const witness = await V.parseVkey(vectors.witness.vkey);
  for (const c of vectors.checkpoints) {
    const run = () => V.openCheckpoint(c.note, [log], [witness]);
    if (c.valid) {
      const opened = await run();
      assert.equal(opened.checkpoint.size, c.size);
      assert.equal(V.toB64(opened.checkpoint.root), c.root);
      assert.deepEqual(Object.keys(opened.cosigned), c.cosigned_by);
    } else {
      await assert.rejects(run, V.VerifyError, c.why);
    }
  }
});

test("receipts", async () => {
  for (const c of vectors.receipts) {
    const result = await V.verifyReceipt(c.bundle, options);
    assert.equal(result.ok, c.valid, `${c.why || "valid"}: ${JSON.stringify(result.steps)}`);
    assert.equal(result.steps.length, 6);
  }
});

test("proofs of liabilities", async () => {
  for (const c of vectors.liabilities) {
    const result = await V.verifyLiabilities(c.proof, options);
    assert.equal(result.ok, c.valid, `${c.why || "valid"}: ${JSON.stringify(result.steps)}`);
    if (c.valid) assert.match(result.steps[3].detail, new RegExp(`signed total ${c.total_jpy} JPY`));
  }
});
