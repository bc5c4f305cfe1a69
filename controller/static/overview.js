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

  function drawAlarms(alarms) {
    const list = document.getElementById("alarms");
    list.replaceChildren();
    if (!alarms.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = _("no active alarm");
      list.appendChild(li);
    }
    for (const a of alarms) {
      const li = document.createElement("li");
      li.className = "sev-" + a.severity;
      li.dataset.kind = a.kind;
      li.dataset.source = a.source || "";
      li.textContent = _("{alarm} ({ago})", { alarm: i18n.alarmText(a), ago: ago(a.raised_at) });
      const frame = a.details && a.details.frame_jpeg_b64;
      if (frame) {  // the picture the alarm was raised on (tamper, seat not covered)
        const img = document.createElement("img");
        img.className = "alarm-frame";
        img.alt = _("frame of the alarm: {title}", { title: i18n.alarmTitle(a.kind) });
        img.src = "data:image/jpeg;base64," + frame;
        li.appendChild(img);
      }
      list.appendChild(li);
    }
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

  function drawEvents(events) {
    const body = document.querySelector("#events tbody");
    body.replaceChildren();
    for (const e of events) {
      const tr = document.createElement("tr");
      const when = cell(i18n.dateTime(e.ts));
      when.dataset.ts = e.ts;
      tr.appendChild(when);
      tr.appendChild(cell(e.agent || String(e.agent_id)));
      tr.appendChild(cell(e.kind));
      tr.appendChild(cell(JSON.stringify(e.data).slice(0, 160), "mono"));
      body.appendChild(tr);
    }
  }

  async function refresh() {
    try {
      const r = await fetch("/api/overview", { credentials: "same-origin" });
      if (r.status === 401) { location.href = "/login"; return; }
      if (!r.ok) throw new Error(r.status);
      const data = await r.json();
      drawCoverage(data.coverage);
      drawAgents(data.agents);
      drawAlarms(data.alarms);
      drawEvents(data.events);
      const ledger = document.getElementById("ledger-line");
      ledger.textContent = ngettext("ledger: {n} entry", "ledger: {n} entries", data.ledger_size);
      ledger.dataset.size = data.ledger_size;
      document.getElementById("updated").textContent = _("updated {time}", { time: i18n.time(new Date()) });
    } catch (err) {
      document.getElementById("updated").textContent = _("controller unreachable, retrying…");
    } finally {
      setTimeout(refresh, POLL_MS);
    }
  }
  refresh();
});
