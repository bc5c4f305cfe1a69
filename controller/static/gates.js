// Gates page: the gate lanes drawn with their state and who passed last, the gates' alarms (a
// tailgate with both its people), occupancy per area, and the filterable access log.
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

  const NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const laneWords = () => ({ open: _("open"), closed: _("closed"), offline: _("offline"), alarm: _("alarm") });

  // Each gate a lane between its two areas: the lane coloured by its state, the gate's name and
  // state, and who passed last.
  function drawLanes(list) {
    const box = document.getElementById("lanes");
    box.replaceChildren();
    const h = 44, words = laneWords();
    box.setAttribute("viewBox", "0 0 400 " + Math.max(1, list.length) * h);
    list.forEach((g, i) => {
      const y = i * h;
      const lane = svg("g", { "class": "lane lane-" + g.lane, "data-gate": g.gate, "data-lane": g.lane });
      const last = g.last_passage;
      lane.append(
        svg("text", { x: 4, y: y + 22, "class": "area" }, g.area_out),
        svg("rect", { x: 70, y: y + 6, width: 150, height: 24, rx: 3, "class": "lane-body" }),
        svg("line", { x1: 145, y1: y + 6, x2: 145, y2: y + 30, "class": "leaf" }),
        svg("text", { x: 145, y: y + 22, "text-anchor": "middle", "class": "lane-label" }, g.gate + " · " + words[g.lane]),
        svg("text", { x: 228, y: y + 22, "class": "area" }, "→ " + g.area_in),
        svg("text", { x: 70, y: y + 41, "class": "last" },
          last ? _("last through: {name} ({person}), {time}", { name: last.name, person: last.person, time: i18n.time(last.at) })
            : _("nobody through yet")),
        svg("title", {}, _("{gate} ({name}): {state}", { gate: g.gate, name: g.name, state: words[g.lane] })));
      if (last) lane.dataset.lastPerson = last.person;
      box.append(lane);
    });
  }

  async function drawAlarms(site) {
    const ul = document.getElementById("gate-alarms");
    const rows = await get("/api/sites/" + site + "/gates/alarms?hours=24");
    ul.replaceChildren();
    for (const a of rows) {
      const named = (p) => (p.person ? _("{name} ({person})", { name: p.name, person: p.person }) : _("someone with no badge read"));
      let text;
      if (a.kind === "tailgating" && a.people.length === 2) {
        text = _("{title} at {gate}: {holder} badged, {follower} went through on the same grant",
          { title: i18n.alarmTitle(a.kind), gate: a.gate, holder: named(a.people[0]), follower: named(a.people[1]) });
      } else if (a.people.length) {
        text = _("{title} at {gate}: {person}", { title: i18n.alarmTitle(a.kind), gate: a.gate, person: named(a.people[0]) });
      } else {
        text = _("{title} at {gate}", { title: i18n.alarmTitle(a.kind), gate: a.gate });
      }
      const li = el("li", i18n.dateTime(a.raised_at) + " · " + text + (a.state === "active" ? "" : " · " + _("cleared")),
        "sev-" + a.severity);
      li.dataset.kind = a.kind;
      li.dataset.gate = a.gate;
      li.dataset.people = a.people.map((p) => p.person || "").join(" ");
      ul.append(li);
    }
    if (!rows.length) ul.append(el("li", _("no gate alarm in the last 24 h"), "muted"));
  }

  async function drawGates(site) {
    const box = document.getElementById("gates");
    const list = await get("/api/sites/" + site + "/gates");
    drawLanes(list);
    box.replaceChildren();
    for (const g of list) {
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
      await Promise.all([drawGates(site), drawAlarms(site), drawOccupancy(site), drawEvents(site)]);
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
