/* The declaration form: add and remove items, and keep what is typed on this device.

   Everything typed is written to localStorage on every keystroke, under a key naming the user
   and the declaration. If the session ends (or the link drops) in the middle of a declaration,
   the next visit to the same form - after signing in again - puts it all back. The copy is
   removed once the server has saved the declaration (the saved page carries data-forget-draft). */
(function () {
  "use strict";

  function forgetSaved() {
    document.querySelectorAll("[data-forget-draft]").forEach(function (el) {
      try { localStorage.removeItem(el.getAttribute("data-forget-draft")); } catch (e) { /* private mode */ }
    });
  }

  function setup() {
    forgetSaved();
    var form = document.getElementById("declaration-form");
    if (!form) { return; }
    var key = form.getAttribute("data-draft-key");
    var list = document.getElementById("item-list");
    var template = document.getElementById("item-template");
    var status = document.getElementById("draft-status");

    function rows() { return list.querySelectorAll(".item-row"); }

    function renumber() {
      // Names stay as they were typed; the server closes gaps. Only the remove buttons'
      // visibility depends on the count: an item list is never empty.
      var all = rows();
      all.forEach(function (row) {
        var button = row.querySelector(".remove-item");
        if (button) { button.hidden = all.length < 2; }
      });
    }

    function nextNumber() {
      var max = 0;
      rows().forEach(function (row) {
        var n = parseInt(row.getAttribute("data-item"), 10);
        if (n > max) { max = n; }
      });
      return max + 1;
    }

    function addRow(n) {
      var html = template.innerHTML.split("__N__").join(String(n));
      var holder = document.createElement("ol");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      list.appendChild(row);
      if (window.htmx) { window.htmx.process(row); }
      renumber();
      return row;
    }

    function snapshot() {
      var fields = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.type !== "hidden" && el.type !== "submit" && el.type !== "button") {
          fields[el.name] = el.value;
        }
      });
      var items = [];
      rows().forEach(function (row) { items.push(row.getAttribute("data-item")); });
      return { fields: fields, items: items, at: new Date().toISOString() };
    }

    function save() {
      try {
        localStorage.setItem(key, JSON.stringify(snapshot()));
        var when = new Date().toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
        status.textContent = form.getAttribute("data-saved-text") + " " + when;
      } catch (e) { /* storage full or disabled: the server draft still works */ }
    }

    function restore() {
      var saved;
      try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
      if (!saved || !saved.fields) { return; }
      var present = {};
      rows().forEach(function (row) { present[row.getAttribute("data-item")] = true; });
      var wanted = {};
      (saved.items || []).forEach(function (n) { wanted[n] = true; if (!present[n]) { addRow(n); } });
      if ((saved.items || []).length) {
        rows().forEach(function (row) { if (!wanted[row.getAttribute("data-item")]) { row.remove(); } });
      }
      var changed = false;
      Object.keys(saved.fields).forEach(function (name) {
        var el = form.elements.namedItem(name);
        if (el && !el.disabled && "value" in el && el.value !== saved.fields[name]) {
          el.value = saved.fields[name];
          changed = true;
        }
      });
      if (changed) { status.textContent = form.getAttribute("data-restored-text"); }
    }

    document.getElementById("add-item").addEventListener("click", function () {
      var row = addRow(nextNumber());
      var first = row.querySelector("input");
      if (first) { first.focus(); }
      save();
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest(".remove-item");
      if (!button || rows().length < 2) { return; }
      var row = button.closest(".item-row");
      var previous = row.previousElementSibling || row.nextElementSibling;
      row.remove();
      renumber();
      save();
      var target = previous && previous.querySelector("input");
      if (target) { target.focus(); }
    });
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    restore();
    renumber();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
}());
