// One camera: live snapshot, health, recording timeline (time axis, the segment being recorded,
// gaps, alarm periods), playback of a segment.
"use strict";
i18n.ready.then(function () {
  const svg = document.getElementById("timeline");
  const site = svg.dataset.site, camera = svg.dataset.camera;
  const NS = "http://www.w3.org/2000/svg";
  const img = document.getElementById("snapshot");

  function node(tag, attrs, title) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (title) {
      const t = document.createElementNS(NS, "title");
      t.textContent = title;
      e.appendChild(t);
    }
    svg.appendChild(e);
    return e;
  }

  // The server prepares what to draw (controller/timeline.py): spans and alarm periods with their
  // share of the window (x0..x1), and the axis ticks in the site's time zone.
  const W = 1000, BAND = [2, 10], BAR = [16, 38], AXIS = 58;
  function bar(x0, x1, row, cls, title) {
    return node("rect", { x: x0 * W, y: row[0], width: Math.max((x1 - x0) * W, 0.8), height: row[1], "class": cls }, title);
  }

  async function timeline() {
    const hours = Number(document.getElementById("span").value);
    const end = new Date(), start = new Date(end - hours * 3600e3);
    const q = "?start=" + encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString());
    const r = await fetch("/api/cameras/" + site + "/" + encodeURIComponent(camera) + "/timeline" + q, { credentials: "same-origin" });
    if (!r.ok) return;
    const data = await r.json();
    svg.replaceChildren();
    node("line", { x1: 0, y1: AXIS, x2: W, y2: AXIS, "class": "axis" });
    for (const t of data.ticks) {
      const g = node("g", { "class": "tick" + (t.hour ? " hour" : "") + (t.day ? " day" : ""), "data-at": t.at });
      const x = t.x * W;
      g.append(node("line", { x1: x, y1: BAR[0] - 2, x2: x, y2: AXIS + 4 }));
      const anchor = t.x < 0.02 ? "start" : t.x > 0.98 ? "end" : "middle";
      g.append(node("text", { x: x, y: AXIS + 18, "text-anchor": anchor }));
      g.lastChild.textContent = t.label;
    }
    const list = document.getElementById("gaps");
    list.replaceChildren();
    for (const s of data.spans) {
      const when = { start: i18n.time(s.start), end: i18n.time(s.end), seconds: s.seconds };
      if (s.kind === "recorded" || s.kind === "deleted") {
        const el = bar(s.x0, s.x1, BAR, s.kind === "deleted" ? "seg del" : "seg rec",
          _("segment {seq}: {start}–{end}", { seq: s.seq, start: when.start, end: when.end }));
        if (s.kind === "recorded") el.addEventListener("click", () => play(s));
        el.dataset.seq = s.seq;
      } else if (s.kind === "recording") {
        const el = bar(s.x0, s.x1, BAR, "seg live", _("recording now, since {start}", when));
        el.dataset.kind = "recording";
      } else {
        bar(s.x0, s.x1, BAR, "seg gap", _("gap of {seconds} s", { seconds: s.seconds }));
        const li = document.createElement("li");
        li.className = s.open ? "sev-warning" : "sev-critical";
        const span = { start: i18n.dateTime(s.start), end: i18n.dateTime(s.end), seconds: s.seconds };
        li.textContent = s.open ? _("{start} → {end} ({seconds} s, not yet recorded)", span)
          : _("{start} → {end} ({seconds} s)", span);
        list.appendChild(li);
      }
    }
    if (!list.children.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = _("no gap in this span");
      list.appendChild(li);
    }
    const alarms = document.getElementById("camera-alarms");
    alarms.replaceChildren();
    for (const a of data.alarms) {
      const period = { start: i18n.dateTime(a.raised_at), end: a.cleared_at ? i18n.dateTime(a.cleared_at) : _("now") };
      const text = _("{title}: {start} → {end}", Object.assign({ title: i18n.alarmTitle(a.kind) }, period));
      const el = bar(a.x0, a.x1, BAND, "alarm-band sev-" + a.severity + (a.active ? " active" : ""), text);
      el.dataset.kind = a.kind;
      el.dataset.alarm = a.id;
      const li = document.createElement("li");
      li.className = "sev-" + a.severity;
      li.textContent = text;
      li.dataset.kind = a.kind;
      alarms.appendChild(li);
    }
    if (!data.alarms.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = _("no alarm in this span");
      alarms.appendChild(li);
    }
  }

  function play(s, offset) {
    const player = document.getElementById("player");
    if (offset) player.addEventListener("loadedmetadata", () => { player.currentTime = offset; }, { once: true });
    player.src = "/api/segments/" + s.id + "/video";
    player.play().catch(() => {});
    const playing = document.getElementById("playing");
    playing.textContent = _("segment {seq}, {start} (sha256 {hash}…)",
      { seq: s.seq, start: i18n.dateTime(s.start), hash: s.sha256.slice(0, 16) });
    playing.dataset.seq = s.seq;
  }

  async function health() {
    const r = await fetch("/api/cameras", { credentials: "same-origin" });
    if (r.ok) {
      const cam = (await r.json()).find((c) => String(c.site_id) === site && c.camera === camera);
      if (cam) {
        const b = document.getElementById("cam-state");
        b.textContent = i18n.cameraState(cam.state);
        b.dataset.state = cam.state;
        b.className = "badge state-" + cam.state;
        const h = cam.health || {};
        document.getElementById("health").textContent = [
          h.fps ? _("{fps} fps analysed", { fps: h.fps.toFixed(1) }) : null,
          h.bitrate_bps ? _("{mbits} Mbit/s recorded", { mbits: (h.bitrate_bps / 1e6).toFixed(2) }) : null,
          h.last_frame_at ? _("last frame {time}", { time: i18n.time(h.last_frame_at) }) : null,
          cam.detail || null].filter(Boolean).join(" · ");
      }
    }
    setTimeout(health, 3000);
  }

  function snapshot() {
    const probe = new Image();
    probe.onload = () => { img.src = probe.src; };
    probe.src = img.dataset.src + "?t=" + Date.now();
    setTimeout(snapshot, 3000);
  }

  // Opened from an alarm or an event: play the recording of that moment (the segment holding it,
  // from that second on).
  async function playAt(at) {
    const t = Date.parse(at);
    if (isNaN(t)) return;
    const q = "?start=" + encodeURIComponent(new Date(t - 600e3).toISOString()) +
      "&end=" + encodeURIComponent(new Date(t + 600e3).toISOString());
    const r = await fetch("/api/cameras/" + site + "/" + encodeURIComponent(camera) + "/segments" + q, { credentials: "same-origin" });
    if (!r.ok) return;
    const live = (await r.json()).segments.filter((s) => !s.deleted_at);
    const s = live.find((x) => Date.parse(x.start) <= t && t < Date.parse(x.end)) || live.find((x) => Date.parse(x.start) >= t);
    const playing = document.getElementById("playing");
    playing.dataset.at = at;
    if (!s) {
      playing.textContent = _("The recording of {time} is not stored yet; it plays here once its segment is.", { time: i18n.dateTime(at) });
      setTimeout(() => playAt(at), 15000);
      return;
    }
    play(s, Math.max(0, (t - Date.parse(s.start)) / 1000));
  }
  const at = new URLSearchParams(location.search).get("at");
  if (at) playAt(at);

  document.getElementById("span").addEventListener("change", timeline);
  timeline(); setInterval(timeline, 15000);
  health(); snapshot();
});
