/* Records pages: LOINC picker pre-fill, upload progress, inline document viewer.
   Loaded as a file because the CSP allows no inline script. */
(function () {
  "use strict";

  function fillObservationDefaults(input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) return;
    var code = input.value.trim().split(/\s+/)[0];
    var option = list.querySelector('option[value="' + CSS.escape(code) + '"]');
    if (!option) return;
    var form = input.form;
    var set = function (name, value) {
      var field = form.querySelector('[name="' + name + '"]');
      if (field) field.value = value;
    };
    set("unit", option.dataset.unit || "");
    set("ref_low", option.dataset.low || "");
    set("ref_high", option.dataset.high || "");
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-loinc-picker]")) fillObservationDefaults(event.target);
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-loinc-picker]")) fillObservationDefaults(event.target);
  });

  // Documents open inline on demand: the <template> is inert, so nothing is fetched (or audited)
  // until the user asks to see it.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-doc-toggle]");
    if (!button) return;
    var id = button.getAttribute("data-doc-toggle");
    var view = document.getElementById(id);
    var template = document.getElementById(id + "-template");
    if (!view || !template) return;
    if (view.childElementCount) {
      view.replaceChildren();
      button.setAttribute("aria-expanded", "false");
    } else {
      view.appendChild(template.content.cloneNode(true));
      button.setAttribute("aria-expanded", "true");
    }
  });

  function progressOf(form) { return form.querySelector("progress"); }

  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-form]");
    if (!form || !event.detail.lengthComputable) return;
    var bar = progressOf(form);
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-form]");
    if (!form) return;
    var bar = progressOf(form);
    bar.hidden = false;
    bar.value = 0;
    var result = form.querySelector("#upload-result");
    if (result) result.replaceChildren();
  });

  // A refused upload (413/415/422) still shows its message under the form.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-form]");
    if (!form || event.detail.xhr.status < 400 || event.detail.xhr.status >= 500) return;
    var type = event.detail.xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("application/json") === 0) {
      var message = "";
      try { message = JSON.parse(event.detail.xhr.responseText).message || ""; } catch (e) { message = ""; }
      var p = document.createElement("p");
      p.className = "alert";
      p.setAttribute("role", "alert");
      p.setAttribute("data-testid", "upload-error");
      p.textContent = message || ("HTTP " + event.detail.xhr.status);
      event.detail.serverResponse = p.outerHTML;
    }
    event.detail.shouldSwap = true;
    event.detail.isError = false;
    progressOf(form).hidden = true;
  });
})();
