// Live status → cell operations. Pure functions (no Office.js): unit-tested with node.
//
// The server's stream (WS /ws/files/{id}) sends a snapshot, then row / rows /
// job / file messages. `layout` comes from the last script call's `gradesync`
// answer: per sheet, the header row and the status column (1-based), so a
// row is painted from column A to the column before the status column,
// exactly as the server paints it (gradesync.addin.book).

export const FILLS = { green: "#C6EFCE", red: "#FFC7CE", neutral: "#F2F2F2" };

export const SYNC_TEXT = {
  NOT_SENT: "Chưa gửi",
  SCHEDULED: "Đã hẹn gửi khi Sở mở cổng",
  QUEUED: "Đang chờ gửi",
  SENDING: "Đang gửi",
  RETRYING: "Đang thử gửi lại",
  SYNCED: "Đã lên Sở",
  FAILED: "Sở từ chối",
  DEAD: "Gửi không được (đã thử nhiều lần)",
};

const PENDING = new Set(["SCHEDULED", "QUEUED", "SENDING", "RETRYING"]);

export function columnLetter(n) {
  let s = "";
  while (n > 0) {
    const m = (n - 1) % 26;
    s = String.fromCharCode(65 + m) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

function colour(sync) {
  if (sync === "SYNCED") return "green";
  if (sync === "FAILED" || sync === "DEAD") return "red";
  if (PENDING.has(sync)) return "neutral";
  return null; // NOT_SENT: leave the row as validation painted it
}

export function statusText(row, texts = SYNC_TEXT) {
  const text = texts[row.sync] || row.sync;
  if (row.sync !== "FAILED" && row.sync !== "DEAD") return text;
  const reasons = (row.errors || []).map(
    (e) => `Sở [${e.code || "SO_ERROR"}]: ${e.message || ""}`,
  );
  return reasons.length ? `${text}: ${reasons.join("; ")}` : text;
}

// One row message → the operations that repaint it, or [] when nothing changes.
// An invalid row never sent is left exactly as validation painted it.
export function rowOps(row, layout, texts = SYNC_TEXT) {
  const sheet = layout?.[row.sheet];
  if (!sheet || !sheet.status_col) return [];
  if (row.validation === "INVALID") return [];
  const c = colour(row.sync);
  if (c === null) return [];
  const last = columnLetter(Math.max(sheet.status_col - 1, 1));
  const status = columnLetter(sheet.status_col);
  return [
    { sheet: row.sheet, address: `A${row.row}:${last}${row.row}`, fill: FILLS[c] },
    { sheet: row.sheet, address: `${status}${row.row}`, value: statusText(row, texts) },
  ];
}

// Any stream message → { ops, counts, problems, job } (what changed).
export function messageOps(message, layout, texts = SYNC_TEXT) {
  const out = { ops: [], counts: null, rows: [], job: null, error: null };
  switch (message?.type) {
    case "snapshot":
      out.counts = message.counts || null;
      out.rows = message.rows || [];
      break;
    case "row":
      out.rows = [message];
      break;
    case "rows":
      out.rows = message.rows || [];
      break;
    case "file":
      out.counts = message.counts || null;
      break;
    case "job":
      out.job = { job_id: message.job_id, state: message.state };
      break;
    case "error":
      out.error = message.message || message.code || "Lỗi";
      break;
    default:
      break; // ping and anything newer: nothing to paint
  }
  for (const row of out.rows) out.ops.push(...rowOps(row, layout, texts));
  return out;
}

// The rows the task pane lists: rejected by the Sở, or invalid (with the first error's cell).
export function problemRows(rows) {
  return rows
    .filter((r) => r.validation === "INVALID" || r.sync === "FAILED" || r.sync === "DEAD")
    .map((r) => ({
      sheet: r.sheet,
      row: r.row,
      cell: r.errors?.find((e) => e.cell)?.cell || `A${r.row}`,
      reason: (r.errors || []).map((e) => e.message).join("; ") || SYNC_TEXT[r.sync] || r.sync,
    }));
}

// Merge a batch of row results into the per-row state the pane keeps.
export function mergeRows(state, rows) {
  const next = new Map(state);
  for (const r of rows) next.set(`${r.sheet}!${r.row}`, { ...(next.get(`${r.sheet}!${r.row}`) || {}), ...r });
  return next;
}

// The websocket URL of a file, from the page's own location.
export function streamUrl(location, fileId, token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams({ token, format: "batch" });
  return `${scheme}//${location.host}/ws/files/${encodeURIComponent(fileId)}?${q}`;
}
