// The sender's slide upload (pathology/slide_upload.html). Each file goes in its own request so it
// gets its own progress bar and result; the files of a DICOM series (.dcm) go together, as one
// slide. The server checks each upload whole and refuses it with the file's name.
(function () {
  "use strict";

  function groups(files) {
    const dicom = files.filter(function (f) { return /\.dcm$/i.test(f.name); });
    const others = files.filter(function (f) { return !/\.dcm$/i.test(f.name); });
    const out = others.map(function (f) { return [f]; });
    if (dicom.length) out.unshift(dicom);
    return out;
  }

  function row(list, title) {
    const item = document.createElement("li");
    item.setAttribute("data-testid", "slide-upload-result");
    const name = document.createElement("span");
    name.className = "patho-upload-name";
    name.textContent = title;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const status = document.createElement("span");
    status.className = "patho-upload-status";
    item.append(name, bar, status);
    list.append(item);
    return { item: item, bar: bar, status: status };
  }

  function send(form, files, line) {
    const msg = form.dataset;
    return new Promise(function (resolve) {
      const body = new FormData();
      for (const file of files) body.append("files", file, file.name);
      for (const field of ["label", "stain", "block"]) body.append(field, form.elements[field].value);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", msg.csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) line.bar.value = Math.round((event.loaded / event.total) * 100);
        line.status.textContent = event.loaded < event.total ? msg.msgUploading : msg.msgChecking;
      });
      xhr.addEventListener("load", function () {
        let answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = {}; }
        const ok = xhr.status === 201;
        line.bar.value = 100;
        line.item.dataset.outcome = ok ? "stored" : "refused";
        line.item.classList.add(ok ? "ok" : "refused");
        line.status.textContent = ok ? msg.msgDone : msg.msgFailed + ": " + (answer.message || xhr.status);
        resolve(ok);
      });
      xhr.addEventListener("error", function () {
        line.item.dataset.outcome = "refused";
        line.item.classList.add("refused");
        line.status.textContent = msg.msgNetwork;
        resolve(false);
      });
      xhr.send(body);
    });
  }

  async function submit(form, event) {
    event.preventDefault();
    const input = form.elements.files;
    const files = Array.from(input.files || []);
    const list = form.parentElement.querySelector(".patho-upload-results");
    if (!files.length) {
      list.replaceChildren();
      row(list, form.dataset.msgChoose).bar.remove();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    list.replaceChildren();
    let stored = 0;
    for (const group of groups(files)) {
      const title = group.length > 1 ? form.dataset.msgDicom + " (" + group.length + ")" : group[0].name;
      if (await send(form, group, row(list, title))) stored += 1;
    }
    button.disabled = false;
    input.value = "";
    if (stored) document.dispatchEvent(new CustomEvent("patho:slides-changed"));
  }

  function start() {
    for (const form of document.querySelectorAll(".patho-upload-form")) {
      if (form.dataset.bound) continue;
      form.dataset.bound = "1";
      form.addEventListener("submit", function (event) { submit(form, event); });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:afterSettle", start);
})();
