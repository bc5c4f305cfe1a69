// One camera: live snapshot, health, recording timeline with gaps, playback of a segment.
"use strict";
(function () {
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
        "segment " + s.seq + ": " + new Date(s.start).toLocaleTimeString() + "–" + new Date(s.end).toLocaleTimeString());
      if (!s.deleted_at) el.addEventListener("click", () => play(s));
      el.dataset.seq = s.seq;
    }
    const list = document.getElementById("gaps");
    list.replaceChildren();
    for (const g of data.gaps) {
      rect(x(g.start), x(g.end) - x(g.start), "seg gap", "gap of " + g.seconds + " s");
      const li = document.createElement("li");
      li.className = g.open ? "sev-warning" : "sev-critical";
      li.textContent = new Date(g.start).toLocaleString() + " → " + new Date(g.end).toLocaleString() +
        " (" + g.seconds + " s" + (g.open ? ", not yet recorded" : "") + ")";
      list.appendChild(li);
    }
    if (!data.gaps.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "no gap in this span";
      list.appendChild(li);
    }
  }

  function play(s) {
    const player = document.getElementById("player");
    player.src = "/api/segments/" + s.id + "/video";
    player.play().catch(() => {});
    document.getElementById("playing").textContent =
      "segment " + s.seq + ", " + new Date(s.start).toLocaleString() + " (sha256 " + s.sha256.slice(0, 16) + "…)";
  }

  async function health() {
    const r = await fetch("/api/cameras", { credentials: "same-origin" });
    if (r.ok) {
      const cam = (await r.json()).find((c) => String(c.site_id) === site && c.camera === camera);
      if (cam) {
        const b = document.getElementById("cam-state");
        b.textContent = cam.state;
        b.className = "badge state-" + cam.state;
        const h = cam.health || {};
        document.getElementById("health").textContent = [
          h.fps ? h.fps.toFixed(1) + " fps analysed" : null,
          h.bitrate_bps ? (h.bitrate_bps / 1e6).toFixed(2) + " Mbit/s recorded" : null,
          h.last_frame_at ? "last frame " + new Date(h.last_frame_at).toLocaleTimeString() : null,
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

  document.getElementById("span").addEventListener("change", timeline);
  timeline(); setInterval(timeline, 15000);
  health(); snapshot();
})();
