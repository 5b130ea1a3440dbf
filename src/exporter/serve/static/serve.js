// The preview's own script (the only one the page may run): the night and phone
// toggles, and the live channel that fetches again what a save changed.
(function () {
  "use strict";
  var body = document.body;

  function setNight(on) {
    document.querySelectorAll(".card").forEach(function (card) {
      card.classList.toggle("nightMode", on);
      card.classList.toggle("night_mode", on);
    });
    body.classList.toggle("pv-night", on);
    document.getElementById("pv-night").setAttribute("aria-pressed", String(on));
  }

  function setPhone(on) {
    body.classList.toggle("pv-phone", on);
    document.getElementById("pv-phone").setAttribute("aria-pressed", String(on));
  }

  function stored(name) {
    try { return window.localStorage.getItem(name) === "1"; } catch (e) { return false; }
  }

  function store(name, on) {
    try { window.localStorage.setItem(name, on ? "1" : "0"); } catch (e) { /* private mode */ }
  }

  function typeset(element) {
    if (window.MathJax && window.MathJax.Hub) {
      window.MathJax.Hub.Queue(["Typeset", window.MathJax.Hub, element]);
    }
  }

  document.getElementById("pv-night").addEventListener("click", function () {
    var on = !body.classList.contains("pv-night");
    store("pv-night", on);
    setNight(on);
  });
  document.getElementById("pv-phone").addEventListener("click", function () {
    var on = !body.classList.contains("pv-phone");
    store("pv-phone", on);
    setPhone(on);
  });
  setNight(stored("pv-night"));
  setPhone(stored("pv-phone"));

  var page = body.getAttribute("data-page") || "";
  var live = document.getElementById("pv-live");
  var source = new EventSource("/events");
  source.onopen = function () { live.classList.add("pv-on"); };
  source.onerror = function () { live.classList.remove("pv-on"); };
  source.onmessage = function (event) {
    var data = JSON.parse(event.data);
    var content = document.getElementById("pv-content");
    var shown = content.firstElementChild;
    var version = shown ? Number(shown.getAttribute("data-version")) : -1;
    if (data.version <= version) { return; }
    var mine = page === "overview" ||
      data.changed.indexOf(page.slice("note:".length)) !== -1;
    if (!mine) { return; }
    fetch(window.location.pathname + "?fragment=1", { cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("pv-content");
        content.innerHTML = fresh ? fresh.innerHTML : html;
        setNight(body.classList.contains("pv-night"));
        typeset(content);
      });
  };
})();
