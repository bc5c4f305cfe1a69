// What the page scripts share: making elements and SVG nodes, and reading the API with its
// errors turned into messages (a 401 goes to the login page).
"use strict";
window.pageKit = (function () {
  const NS = "http://www.w3.org/2000/svg";

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function getJSON(url, options) {
    const r = await fetch(url, { credentials: "same-origin", ...(options || {}) });
    if (r.status === 401) { location.href = "/login"; throw new Error(_("signed out")); }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const d = body.detail;
      const msg = typeof d === "string" ? d : Array.isArray(d) ? d.map((e) => e.msg).join("; ") : r.statusText;
      throw new Error(msg);
    }
    return body;
  }

  return { NS, el, svg, getJSON };
})();
