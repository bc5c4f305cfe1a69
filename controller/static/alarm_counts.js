// Every page's header: how many alarms are open, by severity (one grouped count, every 15 s).
"use strict";
i18n.ready.then(function () {
  const box = document.getElementById("alarm-counts");
  if (!box) return;
  function words(sev, n) {
    return sev === "critical" ? _("critical: {n}", { n: n }) : sev === "warning" ? _("warning: {n}", { n: n })
      : _("info: {n}", { n: n });
  }

  async function refresh() {
    try {
      const r = await fetch("/api/alarms/counts", { credentials: "same-origin" });
      if (!r.ok) return;
      const counts = await r.json();
      box.replaceChildren();
      for (const sev of ["critical", "warning", "info"]) {
        const n = counts[sev] || 0;
        const span = document.createElement("span");
        span.className = "sev-" + sev + (n ? " open" : "");
        span.dataset.severity = sev;
        span.dataset.count = n;
        span.textContent = words(sev, n);
        box.append(span);
      }
      box.hidden = false;
    } catch (err) {
      // the next round tries again
    } finally {
      setTimeout(refresh, 15000);
    }
  }
  refresh();
});
