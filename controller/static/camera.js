// One camera: live snapshot, health, recording timeline with gaps, playback of a segment.
"use strict";
i18n.ready.then(function () {
  const svg = document.getElementById("timeline");
  const site = svg.dataset.site, camera = svg.dataset.camera;
  const NS = "http://www.w3.org/2000/svg";
  const img = document.getElementById("snapshot");

  function rect(x, w, cls, title) {
    const r = document.createElementNS(NS, "rect");
    r.setAttribute("x", x); r.setAttribute("y", 10);
    r.setAttribute("width", Math.max(w, 0.5)); r.setAttribute("height", 40);
    r.setAttribute("class", cls);
    const t = document.createElementNS(NS, "title");
    t.textContent = title;
    r.appendChild(t);
    svg.appendChild(r);
    return r;
  }

  async function timeline() {
    const hours = Number(document.getElementById("span").value);
    const end = new Date(), start = new Date(end - hours * 3600e3);
    const q = "?start=" + encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString());
    const r = await fetch("/api/cameras/" + site + "/" + encodeURIComponent(camera) + "/segments" + q, { credentials: "same-origin" });
    if (!r.ok) return;
    const data = await r.json();
    const t0 = start.getTime(), span = end - start;
    const x = (iso) => Math.max(0, Math.min(1000, (Date.parse(iso) - t0) / span * 1000));
    svg.replaceChildren();
    for (const s of data.segments) {
      const cls = s.deleted_at ? "seg del" : "seg rec";
      const el = rect(x(s.start), x(s.end) - x(s.start), cls,
        _("segment {seq}: {start}–{end}", { seq: s.seq, start: i18n.time(s.start), end: i18n.time(s.end) }));
      if (!s.deleted_at) el.addEventListener("click", () => play(s));
      el.dataset.seq = s.seq;
    }
    const list = document.getElementById("gaps");
    list.replaceChildren();
    for (const g of data.gaps) {
      rect(x(g.start), x(g.end) - x(g.start), "seg gap", _("gap of {seconds} s", { seconds: g.seconds }));
      const li = document.createElement("li");
      li.className = g.open ? "sev-warning" : "sev-critical";
      const span = { start: i18n.dateTime(g.start), end: i18n.dateTime(g.end), seconds: g.seconds };
      li.textContent = g.open ? _("{start} → {end} ({seconds} s, not yet recorded)", span)
        : _("{start} → {end} ({seconds} s)", span);
      list.appendChild(li);
    }
    if (!data.gaps.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = _("no gap in this span");
      list.appendChild(li);
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
