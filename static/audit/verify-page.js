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
      item.textContent = `${mark} ${words.steps[step.step] || step.step}: ${step.detail}`;
      if (words.explain && words.explain[step.step]) {
        const why = document.createElement("small");
        why.className = "explain";
        why.textContent = words.explain[step.step];
        item.appendChild(document.createElement("br"));
        item.appendChild(why);
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
