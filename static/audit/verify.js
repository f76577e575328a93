/*
 * The audit log's verifier in JavaScript: checks a payout receipt (with its embedded proof) or a
 * proof of liabilities with WebCrypto (SHA-256, Ed25519) and nothing else. The same file runs in
 * the browser on /verify/ and under Node 20 in the test suite (tests/audit/js/vectors.test.mjs).
 * Rules: docs/audit-format.md. An independent implementation of what audit/tlog.py does in Python.
 */
(function (root) {
  "use strict";

  const subtle = root.crypto.subtle;
  const encoder = new TextEncoder();
  const SIG_ED25519 = 0x01;
  const SIG_COSIGNATURE_V1 = 0x04;
  const HASH_SIZE = 32;
  const MAX_SAFE = Number.MAX_SAFE_INTEGER;

  class VerifyError extends Error {}

  function fail(message) {
    throw new VerifyError(message);
  }

  // --- bytes -----------------------------------------------------------------------------------

  function fromB64(text, what) {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      fail(`${what} is not base64`);
    }
    const binary = root.atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  function toB64(bytes) {
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return root.btoa(binary);
  }

  function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fromHex(text, what) {
    if (typeof text !== "string" || !/^([0-9a-f]{2})*$/.test(text)) fail(`${what} is not hex`);
    return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  function u64(value) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(value));
    return out;
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle.digest("SHA-256", bytes));
  }

  // --- canonical JSON (RFC 8785 over the audit value domain) -----------------------------------

  function canonical(value) {
    if (value === null || typeof value === "boolean") return JSON.stringify(value);
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) fail(`number ${value} is not an integer within +-(2**53 - 1)`);
      return JSON.stringify(value);
    }
    if (typeof value === "string") {
      if (/[\uD800-\uDFFF]/u.test(value)) fail("a string holds a lone surrogate");
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (typeof value === "object") {
      // Array.prototype.sort compares UTF-16 code units: exactly RFC 8785's key order.
      const keys = Object.keys(value).sort();
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    fail(`${typeof value} is not a JSON value`);
  }

  function canonicalBytes(value) {
    return encoder.encode(canonical(value));
  }

  function canonicalParse(text) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      fail("not JSON");
    }
    if (canonical(value) !== text) fail("not in canonical form (key order, spacing, escaping or a duplicate key)");
    return value;
  }

  // --- Merkle tree (RFC 9162) ------------------------------------------------------------------

  const leafHash = (entry) => sha256(concat(Uint8Array.of(0), entry));
  const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

  async function rootFromInclusion(index, size, leaf, path, combine = nodeHash) {
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
      fail(`leaf index ${index} is not below the tree size ${size}`);
    }
    let fn = index;
    let sn = size - 1;
    let value = leaf;
    for (const sibling of path) {
      if (sn === 0) fail("the inclusion proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        value = await combine(sibling, value);
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      } else {
        value = await combine(value, sibling);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) fail("the inclusion proof is too short");
    return value;
  }

  async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
    if (!(oldSize >= 0 && oldSize <= newSize)) fail(`a tree cannot shrink from ${oldSize} to ${newSize}`);
    if (oldSize === newSize) {
      if (proof.length) fail("a proof between equal sizes must be empty");
      if (!equal(oldRoot, newRoot)) fail("two different roots for the same tree size: the log forked");
      return;
    }
    if (oldSize === 0) {
      if (proof.length) fail("a proof from the empty tree must be empty");
      return;
    }
    if (!proof.length) fail("the consistency proof is empty");
    const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
    let fn = oldSize - 1;
    let sn = newSize - 1;
    while (fn % 2 === 1) {
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    let fr = path[0];
    let sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0) fail("the consistency proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) fail("the consistency proof is too short");
    if (!equal(fr, oldRoot)) fail("the proof does not lead to the old root: the old tree was rewritten");
    if (!equal(sr, newRoot)) fail("the proof does not lead to the new root");
  }

  // --- signed notes (C2SP) -----------------------------------------------------------------------

  async function noteKeyId(name, type, rawKey) {
    return (await sha256(concat(encoder.encode(name + "\n"), Uint8Array.of(type), rawKey))).slice(0, 4);
  }

  async function parseVkey(text) {
    const trimmed = String(text).trim();
    const first = trimmed.indexOf("+");
    const second = trimmed.indexOf("+", first + 1);
    if (first <= 0 || second < 0) fail("a verifier key is name+keyid+base64");
    const name = trimmed.slice(0, first);
    const keyIdHex = trimmed.slice(first + 1, second).toLowerCase();
    const material = fromB64(trimmed.slice(second + 1), "the verifier key");
    if (/\s/.test(name) || material.length !== 33 || ![SIG_ED25519, SIG_COSIGNATURE_V1].includes(material[0])) {
      fail("the verifier key is not an Ed25519 or cosignature/v1 key");
    }
    const type = material[0];
    const raw = material.slice(1);
    const keyId = await noteKeyId(name, type, raw);
    if (toHex(keyId) !== keyIdHex) fail("the verifier key's id does not match its name and key");
    const key = await subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    return { name, type, raw, keyId, key, fingerprint: toHex(await sha256(raw)) };
  }

  function parseNote(note) {
    if (typeof note !== "string") fail("the note is not text");
    if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) fail("a note must not hold control characters other than newline");
    const split = note.lastIndexOf("\n\n");
    if (split < 0 || !note.endsWith("\n")) fail("a note is text, a blank line and signature lines");
    const text = note.slice(0, split + 1);
    const lines = note.slice(split + 2).split("\n").slice(0, -1);
    if (!lines.length || lines.length > 64) fail("a note needs between 1 and 64 signature lines");
    const signatures = lines.map((line) => {
      const parts = line.split(" ");
      if (parts.length !== 3 || parts[0] !== "\u2014") fail("a signature line is '\u2014 name base64'");
      const raw = fromB64(parts[2], "a note signature");
      if (raw.length < 5) fail("a note signature is too short");
      return { name: parts[1], keyId: raw.slice(0, 4), signature: raw.slice(4) };
    });
    return { text, signatures };
  }

  async function signatureVerify(text, sig, verifier) {
    if (sig.name !== verifier.name || !equal(sig.keyId, verifier.keyId)) return null;
    let message = encoder.encode(text);
    let signature = sig.signature;
    let timestamp = 0;
    if (verifier.type === SIG_COSIGNATURE_V1) {
      if (signature.length !== 72) fail(`the cosignature of ${verifier.name} has the wrong length`);
      timestamp = Number(new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0));
      message = encoder.encode(`cosignature/v1\ntime ${timestamp}\n${text}`);
      signature = signature.slice(8);
    }
    const ok = await subtle.verify({ name: "Ed25519" }, verifier.key, signature, message);
    if (!ok) fail(`the signature of ${verifier.name} does not verify: the note was altered or forged`);
    return timestamp;
  }

  async function noteVerifiedBy(note, verifier) {
    let found = null;
    for (const sig of note.signatures) {
      const result = await signatureVerify(note.text, sig, verifier);
      if (result !== null && found === null) found = result;
    }
    return found;
  }

  function parseCheckpoint(text) {
    const lines = text.split("\n");
    if (lines.length < 4 || lines[lines.length - 1] !== "") fail("a checkpoint has an origin, a size and a root");
    const [origin, sizeText, rootText] = lines;
    if (!origin) fail("the checkpoint's origin is empty");
    if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || Number(sizeText) > MAX_SAFE) fail("the checkpoint's size is not a number");
    const rootHash = fromB64(rootText, "the checkpoint's root");
    if (rootHash.length !== HASH_SIZE) fail("the checkpoint's root is not 32 bytes");
    return { origin, size: Number(sizeText), root: rootHash };
  }

  async function openCheckpoint(noteText, logs, witnesses) {
    const note = parseNote(noteText);
    let log = null;
    for (const candidate of logs) {
      if ((await noteVerifiedBy(note, candidate)) !== null) {
        log = candidate;
        break;
      }
    }
    if (!log) fail("the checkpoint carries no signature of a log key you trust");
    const checkpoint = parseCheckpoint(note.text);
    if (checkpoint.origin !== log.name) fail(`the checkpoint's origin ${checkpoint.origin} is not the log's name`);
    const cosigned = {};
    for (const witness of witnesses) {
      const timestamp = await noteVerifiedBy(note, witness);
      if (timestamp !== null) cosigned[witness.name] = timestamp;
    }
    return { checkpoint, cosigned };
  }

  // --- a receipt with its proof -----------------------------------------------------------------

  const RECEIPT_SIGNED = ["type", "version", "receipt_id", "subject", "payload", "audit_seq", "issued_at", "key_id"];
  const PROOF_FIELDS = ["checkpoint", "event", "inclusion", "leaf_index", "tree_size"];

  function sameKeys(object, keys) {
    return object && typeof object === "object" && !Array.isArray(object) &&
      Object.keys(object).sort().join(",") === [...keys].sort().join(",");
  }

  function hashes(values, what) {
    if (!Array.isArray(values) || values.length > 64) fail(`${what} is not a list of hashes`);
    return values.map((v) => {
      const h = fromB64(v, what);
      if (h.length !== HASH_SIZE) fail(`${what} holds something that is not a SHA-256 hash`);
      return h;
    });
  }

  async function runSteps(steps, report) {
    const results = [];
    let ok = true;
    for (const [name, run] of steps) {
      if (!ok) {
        results.push({ step: name, ok: null, detail: "not checked" });
        continue;
      }
      try {
        results.push({ step: name, ok: true, detail: (await run()) || "" });
      } catch (e) {
        if (!(e instanceof VerifyError)) throw e;
        ok = false;
        results.push({ step: name, ok: false, detail: e.message });
      }
      if (report) report(results[results.length - 1]);
    }
    return { ok, steps: results };
  }

  async function keys(options) {
    const logs = [];
    for (const v of options.logKeys || []) {
      const parsed = await parseVkey(v);
      if (parsed.type !== SIG_ED25519) fail("a log key has signature type 0x01");
      logs.push(parsed);
    }
    const witnesses = [];
    for (const v of options.witnesses || []) {
      const parsed = await parseVkey(v);
      if (parsed.type !== SIG_COSIGNATURE_V1) fail("a witness key has signature type 0x04");
      witnesses.push(parsed);
    }
    return { logs, witnesses };
  }

  async function verifyReceipt(bundle, options, report) {
    const { logs, witnesses } = await keys(options);
    const state = {};
    return runSteps(
      [
        ["shape", async () => {
          const fields = Object.keys(bundle || {}).filter((k) => k !== "signature" && k !== "proof");
          if (!sameKeys(Object.fromEntries(fields.map((k) => [k, 1])), RECEIPT_SIGNED) || bundle.type !== "audit.receipt") {
            fail("this is not an audit receipt");
          }
          if (!bundle.proof) fail("the receipt carries no proof yet: download it again after the next checkpoint");
          if (!sameKeys(bundle.proof, PROOF_FIELDS)) fail(`the proof must hold exactly ${PROOF_FIELDS.join(", ")}`);
          return `receipt ${bundle.receipt_id}, event #${bundle.audit_seq}`;
        }],
        ["signature", async () => {
          const log = logs.find((l) => l.fingerprint === bundle.key_id);
          if (!log) fail(`the receipt is signed by key ${bundle.key_id}, which is not a key you trust`);
          const unsigned = Object.fromEntries(RECEIPT_SIGNED.map((k) => [k, bundle[k]]));
          const ok = await subtle.verify({ name: "Ed25519" }, log.key, fromB64(bundle.signature, "the signature"),
            canonicalBytes(unsigned));
          if (!ok) fail("the receipt's signature does not verify: it was altered or forged");
          return `Ed25519, key ${bundle.key_id.slice(0, 16)}…`;
        }],
        ["event", async () => {
          const event = bundle.proof.event;
          if (!event || typeof event !== "object" || Array.isArray(event)) fail("the proof's event is not an event");
          const data = (event && event.data) || {};
          const payloadHash = toHex(await sha256(canonicalBytes(bundle.payload)));
          const subject = bundle.subject || {};
          if (event.seq !== bundle.audit_seq || event.action !== "receipt.issued" || data.receipt_id !== bundle.receipt_id ||
              data.payload_hash !== payloadHash || event.subject_type !== subject.type || event.subject_id !== subject.id) {
            fail(`the proof's event is not the receipt event #${bundle.audit_seq} of this receipt and payload`);
          }
          state.leaf = await leafHash(canonicalBytes(event));
          return `leaf hash ${toB64(state.leaf)}`;
        }],
        ["inclusion", async () => {
          const proof = bundle.proof;
          if (proof.leaf_index !== bundle.audit_seq - 1) fail("the proof is for another leaf than the receipt's event");
          state.root = await rootFromInclusion(proof.leaf_index, proof.tree_size, state.leaf,
            hashes(proof.inclusion, "the inclusion proof"));
          return `${proof.inclusion.length} hashes lead to root ${toB64(state.root)}`;
        }],
        ["checkpoint", async () => {
          const opened = await openCheckpoint(bundle.proof.checkpoint, logs, witnesses);
          state.cosigned = opened.cosigned;
          if (opened.checkpoint.size !== bundle.proof.tree_size) {
            fail(`the proof is for a tree of ${bundle.proof.tree_size} leaves, the checkpoint for ${opened.checkpoint.size}`);
          }
          if (!equal(opened.checkpoint.root, state.root)) fail("the inclusion proof does not lead to the checkpoint's root");
          return `${opened.checkpoint.origin}, size ${opened.checkpoint.size}, signed by the log`;
        }],
        ["witnesses", async () => {
          const missing = witnesses.filter((w) => !(w.name in state.cosigned)).map((w) => w.name);
          if (missing.length) fail(`the checkpoint carries no cosignature of the witness ${missing.join(", ")}`);
          const names = Object.keys(state.cosigned);
          return names.length ? `cosigned by ${names.join(", ")}` : "no witness given";
        }],
      ],
      report,
    );
  }

  // --- a proof of liabilities -------------------------------------------------------------------

  async function sumLeaf(commitment, amount) {
    if (!Number.isSafeInteger(amount) || amount < 0) fail("an amount must be an integer in [0, 2**53 - 1]");
    return [await sha256(concat(Uint8Array.of(0), commitment, u64(amount))), amount];
  }

  async function sumNode(left, right) {
    for (const side of [left, right]) {
      if (!Number.isSafeInteger(side[1]) || side[1] < 0) {
        fail("a sum in the proof is not an integer in [0, 2**53 - 1] (a negative sum is refused)");
      }
    }
    const total = left[1] + right[1];
    if (total > MAX_SAFE) fail("the sums overflow 2**53 - 1");
    return [await sha256(concat(Uint8Array.of(1), left[0], u64(left[1]), right[0], u64(right[1]))), total];
  }

  const LIABILITY_FIELDS = ["type", "version", "incident", "leaf", "leaf_index", "count", "path", "head"];

  async function verifyLiabilities(proof, options, report) {
    const { logs } = await keys(options);
    const state = {};
    return runSteps(
      [
        ["shape", async () => {
          if (!sameKeys(proof, LIABILITY_FIELDS) || proof.type !== "audit.liabilities-proof" || proof.version !== 1) {
            fail("this is not a version 1 proof of liabilities");
          }
          if (!sameKeys(proof.leaf, ["claim_ref", "account_id", "amount_jpy", "salt"])) fail("the leaf's fields are wrong");
          return `claim ${proof.leaf.claim_ref} of incident ${proof.incident}`;
        }],
        ["commitment", async () => {
          const salt = fromHex(proof.leaf.salt, "the salt");
          if (salt.length !== 32) fail("the salt is not 32 bytes");
          const commitment = await sha256(canonicalBytes({
            account_id: proof.leaf.account_id, amount_jpy: proof.leaf.amount_jpy, claim_ref: proof.leaf.claim_ref,
            incident: proof.incident, salt: proof.leaf.salt,
          }));
          state.leaf = await sumLeaf(commitment, proof.leaf.amount_jpy);
          return `${proof.leaf.amount_jpy} JPY, leaf ${toB64(state.leaf[0])}`;
        }],
        ["path", async () => {
          if (!Array.isArray(proof.path) || proof.path.length > 64) fail("the path is not a list of siblings");
          const siblings = proof.path.map((step) => {
            if (!sameKeys(step, ["hash", "sum"])) fail("each sibling holds exactly a hash and a sum");
            const h = fromB64(step.hash, "a sibling hash");
            if (h.length !== HASH_SIZE) fail("a sibling hash is not a SHA-256 hash");
            return [h, step.sum];
          });
          state.root = await rootFromInclusion(proof.leaf_index, proof.count, state.leaf, siblings, sumNode);
          return `root ${toB64(state.root[0])}, total ${state.root[1]} JPY`;
        }],
        ["head", async () => {
          const note = parseNote(proof.head);
          const origin = note.text.split("\n")[0].split("/liabilities/")[0];
          let signed = false;
          for (const log of logs) {
            if (log.name === origin && (await noteVerifiedBy(note, log)) !== null) signed = true;
          }
          if (!signed) fail("the head carries no valid signature of a key you trust");
          const lines = note.text.split("\n");
          if (lines.length !== 5 || lines[0] !== `${origin}/liabilities/${proof.incident}`) {
            fail("the head is for another incident");
          }
          if (Number(lines[1]) !== proof.count) fail("the head is for another number of claims");
          if (!equal(fromB64(lines[3], "the head's root"), state.root[0]) || Number(lines[2]) !== state.root[1]) {
            fail("the path does not lead to the signed root and total: the claim is not counted in it");
          }
          return `signed total ${lines[2]} JPY over ${lines[1]} claims`;
        }],
      ],
      report,
    );
  }

  async function verifyDocument(document, options, report) {
    if (document && document.type === "audit.liabilities-proof") {
      return { kind: "liabilities", ...(await verifyLiabilities(document, options, report)) };
    }
    return { kind: "receipt", ...(await verifyReceipt(document, options, report)) };
  }

  const api = {
    VerifyError, canonical, canonicalParse, sha256, leafHash, nodeHash, rootFromInclusion, verifyConsistency,
    parseVkey, parseNote, openCheckpoint, verifyReceipt, verifyLiabilities, verifyDocument, fromB64, toB64,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.AuditVerify = api;
})(globalThis);
