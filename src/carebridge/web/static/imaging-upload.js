// The technician's DICOM upload: one request per file (application/dicom), sent one after another
// with a progress bar; each row says what the server did with that file. No outside address.
(function () {
  "use strict";
  const root = document.getElementById("imaging-upload");
  if (!root) return;
  const strings = JSON.parse(document.getElementById("upload-strings").textContent);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => (k in values ? values[k] : ""));
  const $ = (id) => document.getElementById(id);
  let files = [];

  function choose(list) {
    files = Array.from(list).filter((f) => f.size > 0);
    const mb = (files.reduce((n, f) => n + f.size, 0) / 1e6).toFixed(1);
    $("upload-summary").textContent = files.length ? fill(strings.chosen, { n: files.length, mb }) : strings.none;
    $("upload-start").disabled = files.length === 0;
    const body = $("upload-results").querySelector("tbody");
    body.replaceChildren(...files.map((f) => {
      const row = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = f.webkitRelativePath || f.name;
      const result = document.createElement("td");
      result.textContent = strings.waiting;
      result.className = "muted";
      row.append(name, result);
      return row;
    }));
    $("upload-results").hidden = files.length === 0;
  }

  function target() {
    const order = $("upload-order").value;
    if (order) return "/api/v1/diagnosis/orders/" + order + "/dicom";
    const facility = $("upload-facility");
    return "/api/v1/diagnosis/dicom" + (facility ? "?facility_id=" + facility.value : "");
  }

  function send(file, url, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Content-Type", "application/dicom");
      xhr.setRequestHeader("X-CSRF-Token", root.dataset.csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        resolve({ status: xhr.status, body });
      };
      xhr.onerror = () => resolve({ status: 0, body: null });
      xhr.send(file);
    });
  }

  function show(cell, answer) {
    const result = answer.body && (answer.body.results || (answer.body.details && answer.body.details.results));
    const first = result && result[0];
    if (first && first.status !== "refused") {
      cell.textContent = strings[first.status];
      cell.className = "imaging-ok";
      return first.status;
    }
    const reason = (first && first.message) || (answer.body && answer.body.message) || String(answer.status || "");
    cell.textContent = first ? strings.refused + ": " + reason : fill(strings.failed, { reason });
    cell.className = "imaging-bad";
    return "refused";
  }

  async function start() {
    $("upload-start").disabled = true;
    const url = target();
    const total = files.reduce((n, f) => n + f.size, 0);
    const bar = $("upload-progress");
    bar.hidden = false;
    bar.max = total;
    const rows = $("upload-results").querySelectorAll("tbody tr");
    const counts = { stored: 0, duplicate: 0, refused: 0 };
    let sent = 0;
    for (let i = 0; i < files.length; i++) {
      $("upload-summary").textContent = fill(strings.sending, { done: i + 1, n: files.length });
      const answer = await send(files[i], url, (loaded) => { bar.value = sent + loaded; });
      sent += files[i].size;
      bar.value = sent;
      counts[show(rows[i].cells[1], answer)] += 1;
    }
    $("upload-summary").textContent = fill(strings.done, {
      stored: counts.stored, duplicates: counts.duplicate, refused: counts.refused });
  }

  $("upload-files").addEventListener("change", (e) => choose(e.target.files));
  $("upload-folder").addEventListener("change", (e) => choose(e.target.files));
  $("upload-start").addEventListener("click", start);
})();
