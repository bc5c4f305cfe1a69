// Officer overview: polls /api/overview and redraws; no page reloads.
"use strict";
i18n.ready.then(function () {
  const POLL_MS = 2000;

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  const ago = i18n.ago;
  const STATES = { revoked: _("revoked"), online: _("online"), offline: _("offline") };

  function drawAgents(agents) {
    const body = document.querySelector("#agents tbody");
    body.replaceChildren();
    if (!agents.length) {
      const tr = document.createElement("tr");
      tr.appendChild(cell(_("no agent enrolled"), "muted"));
      body.appendChild(tr);
    }
    for (const a of agents) {
      const tr = document.createElement("tr");
      tr.dataset.agent = a.name;
      tr.appendChild(cell(a.name));
      tr.appendChild(cell(a.site || "–"));
      const state = a.revoked ? "revoked" : (a.online ? "online" : "offline");
      const td = cell(STATES[state], "state " + state);
      td.dataset.state = state;
      tr.appendChild(td);
      tr.appendChild(cell(ago(a.last_seen_at)));
      tr.appendChild(cell(String(a.pending_events)));
      body.appendChild(tr);
    }
  }

  const alarmList = document.getElementById("alarms");
  const canAct = alarmList.dataset.canAct === "1";
  let assignees = null;
  let busy = false;  // an officer is typing a note: the list is not redrawn under their hands

  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": document.querySelector("meta[name=csrf-token]").content },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(String(r.status));
    return r.json();
  }

  function linkTo(href, text, name) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    a.dataset.link = name;
    return a;
  }

  // One line per alarm and its subject: repeats counted, the newest alarm's sentence and links,
  // and (for officers) acknowledge with a note, assign.
  function drawAlarms(groups) {
    if (busy) return;
    alarmList.replaceChildren();
    if (!groups.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = _("no active alarm");
      alarmList.appendChild(li);
    }
    for (const g of groups) {
      const a = g.latest;
      const li = document.createElement("li");
      li.className = "sev-" + g.severity;
      li.dataset.kind = g.kind;
      li.dataset.source = a.source || "";
      li.dataset.ids = g.ids.join(" ");
      li.dataset.count = g.count;
      const text = document.createElement("span");
      text.className = "alarm-text";
      text.append(i18n.sentence(a.sentence));
      text.title = i18n.alarmText(a);
      li.append(text);
      if (g.count > 1) {
        const rep = document.createElement("span");
        rep.className = "repeat";
        rep.textContent = _("×{n}", { n: g.count });
        rep.title = _("{n} times since {time}", { n: g.count, time: i18n.dateTime(g.first_raised_at) });
        li.append(rep);
      }
      const when = document.createElement("span");
      when.className = "muted";
      when.textContent = " " + _("({ago})", { ago: ago(g.last_raised_at) });
      li.append(when);
      const links = document.createElement("div");
      links.className = "links small";
      if (a.links.camera) links.append(linkTo(a.links.camera, _("recording of that moment"), "camera"));
      if (a.links.seat) links.append(linkTo(a.links.seat, _("seat"), "seat"));
      if (a.links.gate) links.append(linkTo(a.links.gate, _("gate"), "gate"));
      if (a.links.change) links.append(linkTo(a.links.change, _("network change"), "change"));
      if (a.assigned_to) {
        const who = document.createElement("span");
        who.className = "assigned muted";
        who.textContent = _("assigned to {user}", { user: a.assigned_to });
        links.append(who);
      }
      if (links.childNodes.length) li.append(links);
      const frame = a.details && a.details.frame_jpeg_b64;
      if (frame) {  // the picture the alarm was raised on (tamper, seat not covered)
        const img = document.createElement("img");
        img.className = "alarm-frame";
        img.alt = _("frame of the alarm: {title}", { title: i18n.alarmTitle(a.kind) });
        img.src = "data:image/jpeg;base64," + frame;
        li.appendChild(img);
      }
      if (canAct) li.append(actions(g));
      alarmList.appendChild(li);
    }
  }

  function actions(g) {
    const box = document.createElement("form");
    box.className = "actions";
    const note = document.createElement("input");
    note.name = "note";
    note.maxLength = 2000;
    note.placeholder = _("note (what was done)");
    note.setAttribute("aria-label", _("note (what was done)"));
    note.addEventListener("focus", () => { busy = true; });
    note.addEventListener("blur", () => { busy = false; });
    const ack = document.createElement("button");
    ack.type = "submit";
    ack.className = "ack";
    ack.textContent = _("Acknowledge");
    box.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      ack.disabled = true;
      try {
        for (const id of g.ids) await post("/api/alarms/" + id + "/acknowledge", { note: note.value });
      } catch (err) {
        ack.disabled = false;
        alert(_("the alarm could not be acknowledged ({error})", { error: err.message }));
        return;
      }
      busy = false;
      refresh();
    });
    const assign = document.createElement("select");
    assign.name = "assign";
    assign.setAttribute("aria-label", _("assign to"));
    assign.append(new Option(_("nobody assigned"), ""));
    for (const u of assignees || []) assign.append(new Option(u, u));
    assign.value = g.latest.assigned_to || "";
    assign.addEventListener("focus", () => { busy = true; });
    assign.addEventListener("blur", () => { busy = false; });
    assign.addEventListener("change", async () => {
      try {
        for (const id of g.ids) await post("/api/alarms/" + id + "/assign", { to: assign.value || null });
      } catch (err) {
        alert(_("the alarm could not be assigned ({error})", { error: err.message }));
      }
      busy = false;
      refresh();
    });
    box.append(note, ack, assign);
    return box;
  }

  // The site's headline figure: the share of its seats that video proves covered.
  function drawCoverage(sites) {
    const list = document.getElementById("coverage");
    list.replaceChildren();
    for (const s of sites) {
      const li = document.createElement("li");
      li.dataset.site = s.site;
      const big = document.createElement("span");
      big.className = "figure " + (s.percent === null ? "" : s.percent >= 100 ? "ok-text" : "bad-text");
      big.textContent = s.percent === null ? "–" : _("{percent} %", { percent: s.percent });
      const what = document.createElement("span");
      what.className = "muted";
      what.textContent = " " + (s.percent === null ? _("{site}: no seat judged yet", { site: s.site })
        : ngettext("{site}: {covered} of {n} seat covered, as of {ago}", "{site}: {covered} of {n} seats covered, as of {ago}",
                   s.seats, { site: s.site, covered: s.covered, ago: ago(s.at) }));
      li.append(big, what);
      list.appendChild(li);
    }
    if (!sites.length) list.append(Object.assign(document.createElement("li"), { className: "muted", textContent: _("no site") }));
  }

  const filters = document.getElementById("event-filters");
  filters.addEventListener("change", () => refresh());

  function drawEvents(events) {
    const body = document.querySelector("#events tbody");
    body.replaceChildren();
    if (!events.length) {
      const tr = document.createElement("tr");
      const td = cell(_("no event to show"), "muted");
      td.colSpan = 3;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    for (const e of events) {
      const tr = document.createElement("tr");
      tr.dataset.kind = e.kind;
      tr.dataset.severity = e.severity;
      tr.className = "sev-" + e.severity;
      const when = cell(i18n.dateTime(e.ts));
      when.dataset.ts = e.ts;
      tr.appendChild(when);
      tr.appendChild(cell(e.agent || String(e.agent_id)));
      const what = document.createElement("td");
      what.className = "sentence";
      what.append(i18n.sentence(e.sentence));
      tr.appendChild(what);
      body.appendChild(tr);
    }
  }

  function feedQuery() {
    const q = new URLSearchParams({ limit: "25" });
    for (const [k, v] of new FormData(filters).entries()) if (v) q.set(k, v);
    return q.toString();
  }

  async function refresh() {
    try {
      const [r, f] = await Promise.all([
        fetch("/api/overview", { credentials: "same-origin" }),
        fetch("/api/events/feed?" + feedQuery(), { credentials: "same-origin" })]);
      if (r.status === 401) { location.href = "/login"; return; }
      if (!r.ok || !f.ok) throw new Error(r.status);
      const data = await r.json();
      if (canAct && assignees === null) {
        const who = await fetch("/api/alarms/assignees", { credentials: "same-origin" });
        assignees = who.ok ? await who.json() : [];
      }
      drawCoverage(data.coverage);
      drawAgents(data.agents);
      drawAlarms(data.alarm_groups);
      drawEvents(await f.json());
      const ledger = document.getElementById("ledger-line");
      ledger.textContent = ngettext("ledger: {n} entry", "ledger: {n} entries", data.ledger_size);
      ledger.dataset.size = data.ledger_size;
      document.getElementById("updated").textContent = _("updated {time}", { time: i18n.time(new Date()) });
    } catch (err) {
      document.getElementById("updated").textContent = _("controller unreachable, retrying…");
    } finally {
      clearTimeout(timer);
      timer = setTimeout(refresh, POLL_MS);
    }
  }
  let timer = null;
  refresh();
});
