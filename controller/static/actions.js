// The buttons of the admins' and inspectors' pages: each form with data-api sends its fields to
// that API path as JSON (the session's CSRF token in its header), then reloads the page or says
// what went wrong. Empty fields are left out; a checkbox sends true or false.
"use strict";
i18n.ready.then(function () {
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
      const body = {};
      for (const field of form.querySelectorAll("input[name], select[name]")) {
        if (field.type === "checkbox") body[field.name] = field.checked;
        else if (field.value !== "") body[field.name] = field.dataset.int ? parseInt(field.value, 10) : field.value;
      }
      const out = form.querySelector(".result");
      const r = await fetch(form.dataset.api, {
        method: form.dataset.method || "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json",
                   "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content },
        body: JSON.stringify(body),
      });
      if (r.status === 401) { location.href = "/login"; return; }
      const data = await r.json().catch(() => ({}));
      if (!r.ok) {
        const detail = Array.isArray(data.detail) ? data.detail.map((e) => e.msg).join("; ") : data.detail || r.status;
        if (out) { out.textContent = _("failed: {error}", { error: detail }); out.className = "result error"; }
        return;
      }
      if (out) { out.textContent = _("done"); out.className = "result ok"; }
      if (!form.dataset.stay) location.reload();
    });
  }
});
