// Gates page: live gate states, occupancy per area, and the filterable access log.
"use strict";
i18n.ready.then(function () {
  const siteSel = document.getElementById("site");
  const form = document.getElementById("filters");
  // The page shows the reset buttons only to the roles that may reset (page_access.py).
  const resetAll = document.getElementById("reset-all");

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  async function get(path) {
    const r = await fetch(path, { credentials: "same-origin" });
    if (r.status === 401) { location.href = "/login"; throw new Error(_("signed out")); }
    if (!r.ok) throw new Error(path + ": " + r.status);
    return r.json();
  }

  async function post(path, body) {
    const r = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json",
                 "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content },
      body: JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(Array.isArray(data.detail) ? data.detail.map((e) => e.msg).join("; ")
      : data.detail || (path + ": " + r.status));
    return data;
  }

  async function resetPassback(person) {
    const question = person ? _("Reset anti-passback for {person}?", { person: person })
      : _("Reset anti-passback for everyone?");
    if (!confirm(question)) return;
    const out = document.getElementById("reset-result");
    try {
      await post("/api/sites/" + siteSel.value + "/passback/reset", { person: person || null });
      out.textContent = person ? _("anti-passback reset for {person}", { person: person })
        : _("anti-passback reset for everyone");
      out.dataset.done = person || "*";
    } catch (e) {
      out.textContent = _("reset failed: {error}", { error: e.message });
    }
    refresh();
  }

  async function drawGates(site) {
    const box = document.getElementById("gates");
    box.replaceChildren();
    for (const g of await get("/api/sites/" + site + "/gates")) {
      const row = el("div", undefined, "gate-row");
      row.dataset.gate = g.gate;
      const badge = el("span", i18n.gateState(g.state), "badge state-" + (g.online ? g.state : "offline"));
      badge.dataset.state = g.state;
      const areas = { from: g.area_out, to: g.area_in };
      row.append(el("strong", g.gate + " · " + g.name), badge,
                 el("span", g.online ? _("{from} → {to}", areas) : _("{from} → {to} (controller offline)", areas), "muted small"));
      box.appendChild(row);
    }
  }

  async function drawOccupancy(site) {
    const box = document.getElementById("occupancy");
    box.replaceChildren();
    const areas = (await get("/api/sites/" + site + "/occupancy")).areas;
    for (const [area, people] of Object.entries(areas)) {
      const h = el("h3", area + " (" + people.length + ")");
      const ul = el("ul", undefined, "people");
      ul.dataset.area = area;
      for (const p of people) {
        const li = el("li", _("{name} ({person}), since {time} via {gate}",
          { name: p.name, person: p.person, time: i18n.time(p.since), gate: p.gate }) + " ");
        li.dataset.person = p.person;
        if (resetAll) {
          const btn = el("button", _("reset passback"), "small");
          btn.type = "button";
          btn.dataset.person = p.person;
          btn.addEventListener("click", () => resetPassback(p.person));
          li.appendChild(btn);
        }
        ul.appendChild(li);
      }
      box.append(h, ul);
    }
  }

  async function drawEvents(site) {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) {
      if (!v) continue;
      params.set(k, (k === "start" || k === "end") ? i18n.fromSiteTime(v).toISOString() : v);
    }
    const rows = await get("/api/sites/" + site + "/access-events?" + params.toString());
    const body = document.querySelector("#events tbody");
    body.replaceChildren();
    for (const e of rows) {
      const tr = el("tr");
      const result = e.kind === "passage" ? _("passed")
        : e.kind === "cancelled" ? _("grant withdrawn: {reason}", { reason: i18n.reason(e.reason) })
        : (e.granted ? _("granted") : _("denied: {reason}", { reason: i18n.reason(e.reason) }));
      const outcome = e.kind === "passage" ? "passed" : e.kind === "cancelled" ? "withdrawn" : e.granted ? "granted" : "denied";
      const kinds = { decision: _("decision"), passage: _("passage"), cancelled: _("grant withdrawn") };
      const directions = { entry: _("entry"), exit: _("exit") };
      tr.dataset.outcome = outcome;
      tr.dataset.reason = e.reason || "";
      const when = el("td", i18n.dateTime(e.at));
      when.dataset.ts = e.at;
      tr.append(when, el("td", e.gate), el("td", e.person || "–"),
                el("td", kinds[e.kind] || e.kind), el("td", directions[e.direction] || e.direction),
                el("td", result, e.granted === false ? "denied" : ""));
      body.appendChild(tr);
    }
  }

  async function refresh() {
    const site = siteSel.value;
    try {
      await Promise.all([drawGates(site), drawOccupancy(site), drawEvents(site)]);
      document.getElementById("updated").textContent = _("updated {time}", { time: i18n.time(new Date()) });
    } catch (e) {
      document.getElementById("updated").textContent = _("controller unreachable, retrying…");
    }
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
  if (resetAll) resetAll.addEventListener("click", () => resetPassback(null));
  siteSel.addEventListener("change", refresh);
  // Opened from an event or alarm about a person: their access events.
  const person = new URLSearchParams(location.search).get("person");
  if (person) form.elements.person.value = person;
  refresh();
  setInterval(refresh, 3000);
});
