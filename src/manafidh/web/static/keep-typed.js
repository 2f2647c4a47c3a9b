/* Keep what is typed in a form on this device (the inspection form, issue #8).

   A form with data-keep-key has its text fields, choices and selections written to
   localStorage on every change. If the session ends or the link drops before the form is
   saved, the next visit to the same form - after signing in again - puts them back (files
   cannot be kept: the browser does not allow it). An element with data-forget-kept on the page
   that follows a save removes the copy. */
(function () {
  "use strict";

  function store(action) {
    try { return action(window.localStorage); } catch (e) { return null; } /* private mode */
  }

  function setup() {
    document.querySelectorAll("[data-forget-kept]").forEach(function (el) {
      store(function (s) { s.removeItem(el.getAttribute("data-forget-kept")); });
    });
    document.querySelectorAll("form[data-keep-key]").forEach(function (form) {
      var key = form.getAttribute("data-keep-key");
      var kept = store(function (s) { return JSON.parse(s.getItem(key) || "null"); });
      var typedBefore = form.hasAttribute("data-typed");  // the server sent back what was typed
      if (kept && !typedBefore) {
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!el.name || !(el.id in kept) || el.type === "file") { return; }
          if (el.type === "radio" || el.type === "checkbox") { el.checked = kept[el.id] === true; }
          else { el.value = kept[el.id]; }
        });
        var note = document.getElementById(form.getAttribute("data-keep-note"));
        if (note) { note.hidden = false; }
      }
      function save() {
        var fields = {};
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!el.name || !el.id || el.type === "file" || el.type === "submit") { return; }
          fields[el.id] = (el.type === "radio" || el.type === "checkbox") ? el.checked : el.value;
        });
        store(function (s) { s.setItem(key, JSON.stringify(fields)); });
      }
      form.addEventListener("input", save);
      form.addEventListener("change", save);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); }
  else { setup(); }
})();
