// The task pane: counts, the rows to fix (click → the cell), script buttons,
// and the live stream painting rows red/green as the Sở answers.
import { messageOps, mergeRows, problemRows, streamUrl } from "./stream.js";
import { runScript } from "./xlwings-client.js";
import { INFO_KEY, getToken, loadInfo, saveInfo, setToken } from "./settings.js";

const $ = (id) => document.getElementById(id);
let info = loadInfo();
let rows = new Map();
let socket = null;
let socketFile = null;

function say(text) {
  $("message").textContent = text || "";
}

function showCounts(counts) {
  if (!counts) return;
  for (const key of ["valid", "invalid", "synced", "failed", "pending"]) {
    if (counts[key] !== undefined) $(`n-${key}`).textContent = counts[key];
  }
}

function showProblems(list) {
  const ul = $("problems");
  ul.replaceChildren();
  if (!list.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "Không có dòng nào cần sửa.";
    ul.append(li);
    return;
  }
  for (const p of list) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.textContent = `${p.sheet}!${p.cell || `A${p.row}`}`;
    a.addEventListener("click", () => goTo(p.sheet, p.cell || `A${p.row}`));
    li.append(a, document.createTextNode(` — ${p.reason || p.status || ""}`));
    ul.append(li);
  }
}

async function goTo(sheet, cell) {
  await Excel.run(async (context) => {
    const ws = context.workbook.worksheets.getItem(sheet);
    ws.activate();
    ws.getRange(cell).select();
    await context.sync();
  });
}

function showInfo(next) {
  if (!next) return;
  info = next;
  say(next.message);
  if (next.file_id) $("file").textContent = `Mã tệp trên máy chủ: ${next.file_id}`;
  if (next.counts) showCounts(next.counts);
  if (next.problems) {
    showProblems(next.problems.map((p) => ({ ...p, reason: p.status })));
  }
  if (next.file_id && next.file_id !== socketFile) connect(next.file_id);
}

async function paint(ops) {
  if (!ops.length || !window.Excel) return;
  await Excel.run(async (context) => {
    for (const op of ops) {
      const range = context.workbook.worksheets.getItem(op.sheet).getRange(op.address);
      if (op.fill !== undefined) range.format.fill.color = op.fill;
      if (op.value !== undefined) range.values = [[op.value]];
    }
    await context.sync();
  });
}

function connect(fileId) {
  const token = getToken();
  if (!token) return;
  if (socket) socket.close();
  socketFile = fileId;
  socket = new WebSocket(streamUrl(window.location, fileId, token));
  socket.onopen = () => ($("live").textContent = "Trực tiếp: đang theo dõi kết quả từ Sở.");
  socket.onclose = () => {
    $("live").textContent = "Trực tiếp: mất kết nối, thử lại sau 5 giây…";
    if (socketFile === fileId) setTimeout(() => socketFile === fileId && connect(fileId), 5000);
  };
  socket.onmessage = async (event) => {
    const message = JSON.parse(event.data);
    const out = messageOps(message, info?.layout || {}, info?.sync_text);
    if (out.error) say(out.error);
    if (out.counts) showCounts(out.counts);
    if (out.rows.length) {
      rows = message.type === "snapshot" ? mergeRows(new Map(), out.rows) : mergeRows(rows, out.rows);
      showProblems(problemRows([...rows.values()]));
    }
    await paint(out.ops).catch((e) => say(`Không tô được ô: ${e.message}`));
  };
}

async function run(script, button) {
  const token = getToken();
  if (!token) return say("Hãy dán token do nhà trường cấp trước.");
  for (const b of document.querySelectorAll("#actions button")) b.disabled = true;
  say(script === "send_to_so" ? "Đang kiểm tra và gửi…" : "Đang xử lý…");
  try {
    const next = await runScript(script, { token, onAlert: say });
    if (next) {
      saveInfo(next);
      showInfo(next);
    }
  } catch (error) {
    say(String(error?.message || error));
  } finally {
    for (const b of document.querySelectorAll("#actions button")) b.disabled = false;
    button?.focus();
  }
}

function startInExcel() {
  $("setup").hidden = !!getToken();
  $("actions").hidden = false;
  $("token").value = "";
  $("save-token").addEventListener("click", () => {
    setToken($("token").value);
    $("setup").hidden = !!getToken();
    say(getToken() ? "Đã lưu token." : "");
  });
  for (const b of document.querySelectorAll("#actions button")) {
    b.addEventListener("click", () => run(b.dataset.script, b));
  }
  // The ribbon's buttons save their answer; show it as soon as it lands.
  window.addEventListener("storage", (e) => e.key === INFO_KEY && showInfo(loadInfo()));
  showInfo(info);
}

function startOutside() {
  $("outside").hidden = false;
  $("manifest-url").textContent = `${window.location.origin}/manifest`;
  say("");
}

if (window.gradesyncInOffice && window.Office) {
  Office.onReady((host) => (host.host === Office.HostType.Excel ? startInExcel() : startOutside()));
} else {
  startOutside();
}
