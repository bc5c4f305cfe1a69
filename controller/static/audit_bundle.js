// The audit page's bundle form: starts the bundle (POST), shows its progress from the status
// the server keeps, then downloads the finished tar (streamed from the controller's disk).
"use strict";
i18n.ready.then(function () {
  const form = document.getElementById("bundle-form");
  if (!form) return;
  const bar = document.getElementById("bundle-progress");
  const state = document.getElementById("bundle-state");
  const utc = (v) => new Date(v).toISOString();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const body = { from: utc(f.from.value), to: utc(f.to.value), reason: f.reason.value,
                   manifests_only: f.manifests_only.checked };
    const r = await fetch(form.dataset.api, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json",
                 "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content },
      body: JSON.stringify(body),
    });
    const job = await r.json().catch(() => ({}));
    if (!r.ok) { state.textContent = _("failed: {error}", { error: job.detail || r.status }); return; }
    bar.hidden = false;
    for (;;) {
      await new Promise((done) => setTimeout(done, 1000));
      const s = await (await fetch("/api/audit-bundles/" + job.id, { credentials: "same-origin" })).json();
      if (s.total) { bar.max = s.total; bar.value = s.done; }
      if (s.state === "failed") { state.textContent = _("failed: {error}", { error: s.error }); return; }
      if (s.state === "done") {
        bar.max = 1; bar.value = 1;
        state.textContent = _("done");
        location.href = "/api/audit-bundles/" + job.id + "/file";
        return;
      }
      state.textContent = _("{done} of {total} MB", { done: (s.done / 1e6).toFixed(1), total: (s.total / 1e6).toFixed(1) });
    }
  });
});
