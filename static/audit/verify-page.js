// The /verify/ page: read the document and the trusted keys, run AuditVerify, show each step.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const words = JSON.parse($("verify-messages").textContent);
  const lines = (id) => $(id).value.split("\n").map((s) => s.trim()).filter(Boolean);

  function show(result) {
    const list = $("steps");
    list.textContent = "";
    for (const step of result.steps) {
      const item = document.createElement("li");
      item.dataset.step = step.step;
      item.dataset.ok = step.ok === null ? "skipped" : String(step.ok);
      const mark = step.ok === null ? "–" : step.ok ? "✓" : "✗";
      // The step and what it means in the page's language; the technical detail (hashes, keys, the
      // verifier's own message) beneath it as code.
      const explained = Object.assign({}, words.passed || {}, words.explain || {});
      const meaning = step.ok === null ? words.skipped : step.ok ? explained[step.step] || "" : words.failed;
      const title = document.createElement("strong");
      title.textContent = `${mark} ${words.steps[step.step] || step.step}`;
      item.appendChild(title);
      item.appendChild(document.createTextNode(meaning ? ` ${meaning}` : ""));
      if (step.detail && step.ok !== null) {
        const detail = document.createElement("code");
        detail.className = "detail";
        detail.textContent = step.detail;
        item.appendChild(detail);
      }
      item.className = step.ok === false ? "alert" : "";
      list.appendChild(item);
    }
    const box = $("browser-result");
    box.textContent = result.ok ? words.genuine : words.invalid;
    box.className = result.ok ? "status status-ok" : "alert";
    box.dataset.ok = String(result.ok);
  }

  async function run() {
    let text = $("document-text").value;
    const file = $("document-file").files[0];
    if (file) text = await file.text();
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      show({ ok: false, steps: [{ step: "shape", ok: false, detail: words.not_json }] });
      return;
    }
    try {
      show(await AuditVerify.verifyDocument(parsed, { logKeys: lines("log-keys"), witnesses: lines("witness-keys") }));
    } catch (e) {
      show({ ok: false, steps: [{ step: "keys", ok: false, detail: e.message }] });
    }
  }

  $("verify-browser").addEventListener("click", run);
})();
