/* The claim form's helpers (no library, no CDN):
 * - autocomplete on the line codes (procedure), the modifiers and the claim's diagnoses: codes matching what is
 *   typed (a code prefix or words), from the code set in force on the claim's (or the line's) date of service,
 *   asked of the admin's suggest endpoint (data-url on this script's tag);
 * - a diagnosis-pointer picker under each line's pointers: one button per diagnosis of the claim ("1 M48.062"),
 *   pressed when the line points to it, and the codes the pointers stand for (a pointer to nothing in red).
 * Lists (diagnoses, modifiers, pointers) are typed as text separated by commas or spaces, as the form reads them.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var URL_ = script && script.dataset.url;
  var SEP = /[\s,;]+/;
  var FIELDS = [
    { test: function (el) { return el.id === "id_diagnoses"; }, system: "icd10cm", list: true },
    { test: function (el) { return /^lines-\d+-code$/.test(el.name); }, system: "procedure", list: false },
    { test: function (el) { return /^lines-\d+-modifiers$/.test(el.name); }, system: "modifier", list: true }
  ];

  var style = document.createElement("style");
  style.textContent =
    ".code-suggest{position:absolute;z-index:1000;background:var(--body-bg,#fff);border:1px solid #999;" +
    "box-shadow:0 2px 6px rgba(0,0,0,.25);max-width:36em;min-width:18em;font-size:12px}" +
    ".code-suggest-head{padding:3px 6px;color:#555;border-bottom:1px solid #ddd}" +
    ".code-suggest-item{display:block;width:100%;text-align:left;border:0;background:none;padding:4px 6px;" +
    "cursor:pointer;color:inherit;font:inherit;white-space:normal}" +
    ".code-suggest-item.active,.code-suggest-item:hover{background:#e8f0fe}" +
    ".code-suggest-item.off{color:#888}" +
    ".pointer-picker{display:block;margin-top:3px;max-width:18em;white-space:normal}" +
    ".pointer-choice{font-size:11px;padding:1px 4px;margin:1px;border:1px solid #bbb;border-radius:3px;" +
    "background:var(--body-bg,#fff);color:inherit;cursor:pointer}" +
    ".pointer-choice.on{background:#1565c0;border-color:#1565c0;color:#fff}" +
    ".pointer-codes{display:block;font-size:11px;color:#555}" +
    ".pointer-codes .bad{color:#c62828;font-weight:bold}";
  document.head.appendChild(style);

  function fieldFor(el) {
    if (!el || el.tagName !== "INPUT") return null;
    for (var i = 0; i < FIELDS.length; i++) if (FIELDS[i].test(el)) return FIELDS[i];
    return null;
  }

  function dateFor(el) {
    var row = el.closest("tr");
    var own = row && row.querySelector('input[name$="-date_of_service"]');
    if (own && own.value.trim()) return own.value.trim();
    var claim = document.getElementById("id_date_of_service");
    return claim ? claim.value.trim() : "";
  }

  function token(el, field) {
    var text = el.value.slice(0, el.selectionStart == null ? el.value.length : el.selectionStart);
    if (!field.list) return { start: 0, text: el.value.trim() };
    var m = text.match(/[^\s,;]*$/);
    return { start: text.length - m[0].length, text: m[0] };
  }

  var box = null, items = [], active = -1, target = null, seq = 0, timer = null;

  function close() {
    if (box) box.remove();
    box = null; items = []; active = -1; target = null;
  }

  function choose(code) {
    var el = target, field = fieldFor(el);
    if (!el || !field) return close();
    if (field.list) {
      var t = token(el, field);
      var end = t.start + t.text.length;
      var rest = el.value.slice(end).replace(/^[^\s,;]*/, "");
      var head = el.value.slice(0, t.start) + code;
      el.value = head + (rest.trim() ? rest : ", ");
      el.setSelectionRange(el.value.length, el.value.length);
    } else {
      el.value = code;
    }
    close();
    el.dispatchEvent(new Event("change", { bubbles: true }));
    if (el.id === "id_diagnoses") refreshPickers();
    el.focus();
  }

  function highlight(i) {
    active = i;
    items.forEach(function (b, j) { b.classList.toggle("active", j === i); });
  }

  function show(el, data, system) {
    close();
    target = el;
    box = document.createElement("div");
    box.className = "code-suggest";
    box.setAttribute("role", "listbox");
    var head = document.createElement("div");
    head.className = "code-suggest-head";
    var release = data.results.length ? data.results[0].release : null;
    head.textContent = (data.uncovered || []).length
      ? "No release of " + data.uncovered.join(", ") + " is in force on " + data.on
      : data.results.length
        ? "As of " + data.on + (release ? " · " + release : "")
        : "No " + system + " code matches as of " + data.on;
    box.appendChild(head);
    data.results.forEach(function (r) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "code-suggest-item" + (r.in_effect ? "" : " off");
      b.dataset.code = r.code;
      var code = document.createElement("b");
      code.textContent = r.code;
      b.appendChild(code);
      var notes = [];
      if (!r.in_effect) notes.push("not in effect");
      if (r.billable === false) notes.push("not billable");
      b.appendChild(document.createTextNode(" " + (r.description || "") + (notes.length ? " (" + notes.join(", ") + ")" : "")));
      b.addEventListener("mousedown", function (e) { e.preventDefault(); choose(r.code); });
      box.appendChild(b);
      items.push(b);
    });
    var rect = el.getBoundingClientRect();
    box.style.left = rect.left + window.scrollX + "px";
    box.style.top = rect.bottom + window.scrollY + 2 + "px";
    document.body.appendChild(box);
  }

  function ask(el) {
    var field = fieldFor(el);
    var t = token(el, field);
    if (!URL_ || !t.text) return close();
    var mine = ++seq;
    var params = new URLSearchParams({ system: field.system, q: t.text });
    var on = dateFor(el);
    if (on) params.set("on", on);
    fetch(URL_ + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (mine !== seq || document.activeElement !== el || !data) return;
        show(el, data, field.system);
      })
      .catch(function () {});
  }

  document.addEventListener("input", function (e) {
    var el = e.target;
    if (el.id === "id_diagnoses" || /-diagnosis_pointers$/.test(el.name || "")) refreshPickers();
    if (!fieldFor(el)) return;
    clearTimeout(timer);
    timer = setTimeout(function () { ask(el); }, 150);
  });
  document.addEventListener("keydown", function (e) {
    if (!box || e.target !== target) return;
    if (e.key === "ArrowDown") { e.preventDefault(); highlight(Math.min(items.length - 1, active + 1)); }
    else if (e.key === "ArrowUp") { e.preventDefault(); highlight(Math.max(0, active - 1)); }
    else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(items[active].dataset.code); }
    else if (e.key === "Escape") { close(); }
  });
  document.addEventListener("focusout", function (e) { if (e.target === target) setTimeout(close, 150); });

  /* ---- the diagnosis-pointer picker ---- */

  function diagnoses() {
    var el = document.getElementById("id_diagnoses");
    return el ? el.value.split(SEP).filter(Boolean).map(function (c) { return c.toUpperCase(); }) : [];
  }

  function pointers(input) {
    return input.value.split(SEP).filter(Boolean);
  }

  function renderPicker(input) {
    var holder = input.parentNode.querySelector(".pointer-picker");
    if (!holder) {
      holder = document.createElement("span");
      holder.className = "pointer-picker";
      input.parentNode.appendChild(holder);
    }
    holder.textContent = "";
    var codes = diagnoses(), chosen = pointers(input);
    codes.forEach(function (code, i) {
      var n = String(i + 1);
      var b = document.createElement("button");
      b.type = "button";
      b.className = "pointer-choice" + (chosen.indexOf(n) >= 0 ? " on" : "");
      b.textContent = n + " " + code;
      b.title = (chosen.indexOf(n) >= 0 ? "Stop pointing to " : "Point to ") + code;
      b.addEventListener("click", function () {
        var now = pointers(input);
        var at = now.indexOf(n);
        if (at >= 0) now.splice(at, 1);
        else if (now.length < 4) now.push(n);
        input.value = now.join(", ");
        input.dispatchEvent(new Event("change", { bubbles: true }));
        renderPicker(input);
      });
      holder.appendChild(b);
    });
    var shown = document.createElement("span");
    shown.className = "pointer-codes";
    chosen.forEach(function (p, i) {
      var code = codes[Number(p) - 1];
      var part = document.createElement("span");
      if (!code) part.className = "bad";
      part.textContent = (i ? ", " : "") + p + " → " + (code || "no diagnosis " + p);
      shown.appendChild(part);
    });
    holder.appendChild(shown);
  }

  function refreshPickers() {
    document.querySelectorAll('input[name$="-diagnosis_pointers"]').forEach(function (input) {
      if (!/__prefix__/.test(input.name)) renderPicker(input);
    });
  }

  document.addEventListener("formset:added", refreshPickers);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", refreshPickers);
  else refreshPickers();
})();
