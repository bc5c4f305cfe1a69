// Drills page: the running drill's muster board (inside / safe / missing by area), a clock since
// it began, the lanes' release times and the checklist, refreshed every two seconds.
"use strict";
i18n.ready.then(function () {
  const card = document.getElementById("drill");
  for (const t of document.querySelectorAll("time[data-at]")) {
    if (t.dataset.at && t.dataset.at !== "None") t.textContent = i18n.dateTime(t.dataset.at);
  }
  const findings = document.getElementById("drill-findings");
  if (findings) {  // the textarea's text travels in the hidden field actions.js sends
    const area = findings.querySelector("textarea"), hidden = findings.querySelector("input[name=findings]");
    const sync = () => { hidden.value = area.value; };
    area.addEventListener("input", sync);
    sync();
  }
  if (!card || !card.dataset.drill) return;
  const drillId = card.dataset.drill, mayRun = card.dataset.run === "yes";
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  let started = null;

  const { el } = pageKit;

  async function post(path, body) {
    const r = await fetch(path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() }, body: JSON.stringify(body || {}) });
    if (!r.ok) { const d = await r.json().catch(() => ({})); alert(_("failed: {error}", { error: d.detail || r.status })); }
    refresh();
  }

  function draw(d) {
    started = new Date(d.started_at);
    const c = d.muster.counts;
    document.getElementById("muster-counts").textContent = _("Inside when it began: {inside} · safe: {safe} · missing: {missing}", c)
      + (d.muster.accounted_s !== null ? " · " + _("everyone accounted for after {s} s", { s: Math.round(d.muster.accounted_s) }) : "");
    const board = document.getElementById("muster-board");
    board.replaceChildren();
    for (const [area, a] of Object.entries(d.muster.areas)) {
      const box = el("div", undefined, "card area");
      box.dataset.area = area;
      box.append(el("h3", area));
      for (const [key, label] of [["missing", _("Missing")], ["safe", _("Safe")]]) {
        box.append(el("h4", label + " (" + a[key].length + ")"));
        const ul = el("ul", undefined, key === "missing" ? "error" : "ok");
        ul.dataset.list = key;
        for (const w of a[key]) {
          const li = el("li", w.name + " (" + w.person + ")");
          li.dataset.person = w.person;
          if (key === "safe") li.append(el("span", " · " + i18n.time(w.at) + " · " + (w.how === "badge" ? _("badge at {gate}", { gate: w.where }) : _("marked by {officer}", { officer: w.where })), "muted small"));
          if (key === "missing" && mayRun) {
            const b = el("button", _("Mark safe"));
            b.type = "button";
            b.addEventListener("click", () => post("/api/drills/" + drillId + "/safe", { person: w.person }));
            li.append(" ", b);
          }
          ul.append(li);
        }
        box.append(ul);
      }
      board.append(box);
    }
    if (!Object.keys(d.muster.areas).length) board.append(el("p", _("Nobody was inside when it began."), "muted"));
    const lanes = document.querySelector("#lanes tbody");
    lanes.replaceChildren();
    for (const [gate, l] of Object.entries(d.lanes)) {
      const tr = el("tr");
      tr.dataset.gate = gate;
      tr.append(el("td", gate), el("td", l.released_at ? i18n.time(l.released_at) : _("not yet")), el("td", i18n.gateState(l.state || "")));
      lanes.append(tr);
    }
    const list = document.getElementById("checklist");
    list.replaceChildren();
    for (const item of d.checklist) {
      const li = el("li");
      const box = el("input");
      box.type = "checkbox";
      box.checked = item.done;
      box.disabled = !mayRun;
      box.dataset.item = item.id;
      box.addEventListener("change", () => post("/api/drills/" + drillId + "/checklist", { item: item.id, done: box.checked }));
      li.append(box, " " + (item.text[i18n.locale] || item.text.en) + (item.done ? " · " + item.by : ""));
      list.append(li);
    }
  }

  async function refresh() {
    const r = await fetch("/api/drills/" + drillId, { credentials: "same-origin" });
    if (r.status === 401) { location.href = "/login"; return; }
    if (!r.ok) return;
    const d = await r.json();
    if (d.state !== "running") { location.reload(); return; }
    draw(d);
  }

  function tickClock() {
    if (!started) return;
    const s = Math.max(0, Math.floor((Date.now() - started.getTime()) / 1000));
    document.getElementById("drill-clock").textContent = _("running for {t}", {
      t: String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0") });
  }

  const again = document.getElementById("drill-release");
  if (again) again.addEventListener("click", () => post("/api/drills/" + drillId + "/release"));
  refresh();
  setInterval(refresh, 2000);
  setInterval(tickClock, 1000);
});
