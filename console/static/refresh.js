// carrierwatch console: refreshes campaign progress every 2 seconds while it can change. Every
// page works without it; it only saves a reload. Same origin only.
(function () {
  "use strict";
  var boxes = document.querySelectorAll("[data-progress]");
  if (!boxes.length) { return; }
  function update(box, p) {
    (p.parts || []).forEach(function (part) {
      var r = box.querySelector("rect." + part.class);
      if (r) { r.setAttribute("x", part.x); r.setAttribute("width", part.w); }
    });
    var fields = box.querySelectorAll("[data-field]");
    for (var i = 0; i < fields.length; i++) {
      var v = p[fields[i].getAttribute("data-field")];
      if (v !== undefined) { fields[i].textContent = v; }
    }
  }
  function tick() {
    document.querySelectorAll("[data-progress]").forEach(function (box) {
      fetch(box.getAttribute("data-progress"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { return; }
          update(box, p);
          if (!p.live) { box.removeAttribute("data-progress"); }
        })
        .catch(function () {});
    });
  }
  setInterval(tick, 2000);
})();
