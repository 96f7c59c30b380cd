// gradesync web pages: progressive enhancement only. Every page reads fine without
// this script; it adds the upload progress, live row colours, pushing without a
// reload, countdowns and the province's live counts.
"use strict";

(function () {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const csrf = () => ($('input[name="csrf"]') || {}).value || "";

  // -- countdowns --------------------------------------------------------------------------
  function spell(ms) {
    if (ms <= 0) return "0 giây";
    const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    const parts = [];
    if (d) parts.push(d + " ngày");
    if (d || h) parts.push(h + " giờ");
    parts.push(m + " phút");
    if (!d) parts.push(sec + " giây");
    return parts.join(" ");
  }
  function tick() {
    for (const t of $$("time[data-countdown]")) {
      t.textContent = spell(Date.parse(t.getAttribute("datetime")) - Date.now());
    }
  }

  // -- a websocket that comes back (a reconnect gets a fresh snapshot) -----------------------
  function stream(path, onMessage) {
    let delay = 1000;
    const open = () => {
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      ws.onopen = () => { delay = 1000; };
      ws.onmessage = (e) => onMessage(JSON.parse(e.data));
      ws.onclose = (e) => {
        if (e.code >= 4400 && e.code < 4500) return; // refused: retrying will not help
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 30000);
      };
    };
    open();
  }

  // -- upload ---------------------------------------------------------------------------------
  function setUpUpload(form) {
    const input = $("#file", form), drop = $("#drop", form);
    const box = $("#upload-progress", form), bar = $("#upload-bar", form);
    const phase = $("#upload-phase", form), message = $("#upload-message", form);
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      if (e.dataTransfer.files.length) input.files = e.dataTransfer.files;
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      message.hidden = true;
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      box.hidden = false;
      bar.value = 0;
      phase.textContent = "Đang tải lên… 0%";
      xhr.upload.onprogress = (ev) => {
        if (!ev.lengthComputable) return;
        const pct = Math.round((ev.loaded / ev.total) * 100);
        bar.value = pct;
        phase.textContent = "Đang tải lên… " + pct + "%";
      };
      xhr.upload.onload = () => {
        bar.removeAttribute("value"); // indeterminate while the server reads and checks
        phase.textContent = "Đã tải lên; máy chủ đang đọc và kiểm tra sổ điểm…";
      };
      xhr.onload = () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        if (xhr.status < 300 && body.url) { location.assign(body.url); return; }
        box.hidden = true;
        message.textContent = "Chưa tải lên được: " +
          ((body.error && body.error.message) || "máy chủ trả lỗi " + xhr.status + ".");
        message.hidden = false;
      };
      xhr.onerror = () => {
        box.hidden = true;
        message.textContent = "Mất kết nối tới máy chủ khi đang tải lên; kiểm tra mạng rồi thử lại.";
        message.hidden = false;
      };
      xhr.send(new FormData(form));
    });
  }

  // -- one file: live rows, counts, jobs; push without a reload -----------------------------------
  // A big upload is read in the background: poll this page until its status
  // changes, then show the result (the rows exist only once reading is done).
  function awaitParsing(root) {
    const timer = setInterval(async () => {
      try {
        const r = await fetch(location.href, { credentials: "same-origin" });
        if (r.ok && !(await r.text()).includes('data-status="PARSING"')) {
          clearInterval(timer);
          location.reload();
        }
      } catch (_) { /* the server may be restarting: try again at the next tick */ }
    }, 2000);
  }

  function setUpFile(root) {
    if (root.dataset.status === "PARSING") awaitParsing(root);
    const L = JSON.parse($("#labels").textContent);
    const red = new Set(L.red);
    const rows = new Map($$("#rows tbody tr").map((tr) => [tr.dataset.key, tr]));

    function reasons(td, errors) {
      const ul = document.createElement("ul");
      for (const e of errors || []) {
        const li = document.createElement("li");
        if (e.cell) { const b = document.createElement("b"); b.textContent = e.cell; li.append(b, ": "); }
        li.append(e.message);
        ul.append(li);
      }
      for (const w of $$("li.warning", td)) ul.append(w);
      td.replaceChildren(ul);
    }
    function applyRow(r) {
      const tr = rows.get(r.sheet + "|" + r.row);
      if (!tr) return; // filtered out of this view
      const validation = r.validation || tr.dataset.validation;
      const cell = $(".sync", tr);
      cell.dataset.sync = r.sync;
      cell.textContent = L.sync[r.sync] || r.sync;
      tr.className = validation === "INVALID" || red.has(r.sync) ? "bad" : r.sync === "SYNCED" ? "good" : "wait";
      reasons($(".reasons", tr), r.errors);
    }
    function applyCounts(counts) {
      for (const [k, v] of Object.entries(counts || {})) {
        const dd = $('[data-counts] [data-count="' + k + '"]', root);
        if (dd) dd.textContent = v;
      }
    }
    function applyJob(j) {
      const list = $("#jobs");
      let li = $('li[data-job="' + j.job_id + '"]', list);
      if (!li) {
        li = document.createElement("li");
        li.dataset.job = j.job_id;
        li.append("Lớp " + (j.class_name || "?") + " · " + (j.subject_code || "?") + ": ", document.createElement("span"));
        list.append(li);
      }
      $("span", li).textContent = L.job[j.state] || j.state;
    }
    const path = "/ws/files/" + encodeURIComponent(root.dataset.fileId) + "?format=batch";
    stream(path, (m) => {
      if (m.type === "snapshot") { m.rows.forEach(applyRow); applyCounts(m.counts); }
      else if (m.type === "rows") m.rows.forEach(applyRow);
      else if (m.type === "row") applyRow(m);
      else if (m.type === "file") applyCounts(m.counts);
      else if (m.type === "job") applyJob(m);
    });

    const push = $("#push");
    push.addEventListener("submit", async (e) => {
      e.preventDefault();
      const out = $("#push-message"), button = $("button", push);
      button.disabled = true;
      out.textContent = "Đang yêu cầu gửi…";
      try {
        const r = await fetch(push.action, {
          method: "POST", headers: { Accept: "application/json", "X-CSRF-Token": csrf() },
          credentials: "same-origin",
        });
        const body = await r.json();
        out.textContent = body.message;
        out.className = body.ok ? "flash ok" : "flash error";
        (body.jobs || []).forEach(applyJob);
        if (body.window_html) { $("#window-state").innerHTML = body.window_html; tick(); }
      } catch (_) {
        out.textContent = "Mất kết nối tới máy chủ; thử lại sau ít giây.";
        out.className = "flash error";
      } finally {
        button.disabled = false;
      }
    });
  }

  // -- the province: live counts and the curve ---------------------------------------------------
  function setUpProvince(root) {
    const svg = $("#chart"), line = $("polyline", svg);
    const points = JSON.parse(svg.dataset.points || "[]");
    const counts = new Map();
    function draw() {
      if (!points.length) return;
      const t0 = points[0][0], t1 = Math.max(points[points.length - 1][0], t0 + 1);
      const top = Math.max(1, ...points.map((p) => p[1]));
      line.setAttribute("points", points.map((p) =>
        ((p[0] - t0) / (t1 - t0) * 600).toFixed(1) + "," + (160 - p[1] / top * 160).toFixed(1)).join(" "));
    }
    function applySchool(id, c) {
      counts.set(id, c);
      const tr = $('tr[data-school="' + CSS.escape(id) + '"]', root);
      if (tr) {
        for (const k of ["pending", "synced", "failed", "dead"]) $('[data-count="' + k + '"]', tr).textContent = c[k];
        tr.className = c.dead || c.failed ? "bad" : c.synced && !c.pending ? "good" : "wait";
      }
    }
    function totals(at) {
      const sum = { pending: 0, synced: 0, failed: 0, dead: 0 };
      for (const c of counts.values()) for (const k in sum) sum[k] += c[k];
      for (const k in sum) $('[data-total="' + k + '"]', root).textContent = sum[k];
      points.push([Math.floor(at || Date.now() / 1000), sum.synced]);
      draw();
    }
    stream("/ws/province", (m) => {
      if (m.type === "snapshot") { m.schools.forEach((s) => applySchool(s.school_id, s.counts)); totals(); }
      else if (m.type === "school") { applySchool(m.school_id, m.counts); totals(m.at); }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 1000);
    const upload = $("#upload");
    if (upload) setUpUpload(upload);
    const file = $("#file-page");
    if (file) setUpFile(file);
    const province = $("#province-page");
    if (province) setUpProvince(province);
  });
})();
