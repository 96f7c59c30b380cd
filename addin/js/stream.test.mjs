// Unit tests of the task pane's stream → cell operations (node --test addin/js).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  FILLS,
  columnLetter,
  messageOps,
  mergeRows,
  problemRows,
  rowOps,
  statusText,
  streamUrl,
} from "../../server/gradesync/addin/static/js/stream.js";

// As the server's `gradesync.layout` says it: the header on row 5, status in column L (12).
const layout = { "Toán": { header_row: 5, status_col: 12, first_row: 6, last_row: 9 } };

test("column letters follow Excel's scheme", () => {
  assert.deepEqual([1, 11, 26, 27, 52, 703].map(columnLetter), ["A", "K", "Z", "AA", "AZ", "AAA"]);
});

test("a synced row turns green from column A to the column before the status column", () => {
  const ops = rowOps({ sheet: "Toán", row: 7, sync: "SYNCED", errors: [] }, layout);
  assert.deepEqual(ops, [
    { sheet: "Toán", address: "A7:K7", fill: FILLS.green },
    { sheet: "Toán", address: "L7", value: "Đã lên Sở" },
  ]);
});

test("a rejected row turns red and its status names the Sở's code and message", () => {
  const row = {
    sheet: "Toán",
    row: 8,
    sync: "FAILED",
    errors: [{ code: "UNKNOWN_STUDENT", message: "Học sinh không có trong danh sách lớp" }],
  };
  const [fill, status] = rowOps(row, layout);
  assert.equal(fill.fill, FILLS.red);
  assert.equal(status.value, "Sở từ chối: Sở [UNKNOWN_STUDENT]: Học sinh không có trong danh sách lớp");
});

test("rows on their way are grey; rows not sent and invalid rows are left alone", () => {
  for (const sync of ["SCHEDULED", "QUEUED", "SENDING", "RETRYING"]) {
    assert.equal(rowOps({ sheet: "Toán", row: 6, sync }, layout)[0].fill, FILLS.neutral, sync);
  }
  assert.deepEqual(rowOps({ sheet: "Toán", row: 6, sync: "NOT_SENT" }, layout), []);
  const invalid = { sheet: "Toán", row: 9, validation: "INVALID", sync: "NOT_SENT" };
  assert.deepEqual(rowOps(invalid, layout), []);
});

test("a sheet the pane has no layout for is never painted", () => {
  assert.deepEqual(rowOps({ sheet: "Văn", row: 6, sync: "SYNCED" }, layout), []);
});

test("a batch message paints every row; file messages update counts only", () => {
  const batch = {
    type: "rows",
    rows: [
      { type: "row", sheet: "Toán", row: 6, sync: "SYNCED", errors: [] },
      { type: "row", sheet: "Toán", row: 7, sync: "SYNCED", errors: [] },
    ],
  };
  const out = messageOps(batch, layout);
  assert.equal(out.ops.length, 4);
  assert.deepEqual(out.ops.filter((o) => o.fill).map((o) => o.address), ["A6:K6", "A7:K7"]);
  const file = messageOps({ type: "file", counts: { synced: 2, failed: 1 } }, layout);
  assert.deepEqual(file.ops, []);
  assert.deepEqual(file.counts, { synced: 2, failed: 1 });
});

test("a snapshot repaints from the server's truth, pings and unknown types do nothing", () => {
  const snapshot = {
    type: "snapshot",
    counts: { rows: 4 },
    rows: [
      { sheet: "Toán", row: 6, validation: "VALID", sync: "SYNCED", errors: [] },
      { sheet: "Toán", row: 9, validation: "INVALID", sync: "NOT_SENT", errors: [] },
    ],
  };
  const out = messageOps(snapshot, layout);
  assert.deepEqual(out.ops.map((o) => o.address), ["A6:K6", "L6"]);
  assert.deepEqual(messageOps({ type: "ping" }, layout).ops, []);
  assert.deepEqual(messageOps({ type: "something-new" }, layout).ops, []);
  assert.equal(messageOps({ type: "error", message: "Token sai" }, layout).error, "Token sai");
});

test("server-provided texts win over the built-in ones", () => {
  const texts = { SYNCED: "Đã lên CSDL ngành" };
  assert.equal(statusText({ sync: "SYNCED" }, texts), "Đã lên CSDL ngành");
});

test("the pane lists invalid and rejected rows with the cell to jump to", () => {
  let rows = mergeRows(new Map(), [
    { sheet: "Toán", row: 6, validation: "VALID", sync: "SYNCED", errors: [] },
    { sheet: "Toán", row: 9, validation: "INVALID", sync: "NOT_SENT",
      errors: [{ code: "SCORE_OUT_OF_RANGE", cell: "H9", message: "Điểm phải từ 0 đến 10" }] },
    { sheet: "Toán", row: 8, validation: "VALID", sync: "SENDING", errors: [] },
  ]);
  rows = mergeRows(rows, [{ sheet: "Toán", row: 8, sync: "FAILED",
    errors: [{ code: "UNKNOWN_STUDENT", message: "Không có học sinh" }] }]);
  assert.deepEqual(problemRows([...rows.values()]), [
    { sheet: "Toán", row: 9, cell: "H9", reason: "Điểm phải từ 0 đến 10" },
    { sheet: "Toán", row: 8, cell: "A8", reason: "Không có học sinh" },
  ]);
});

test("the stream URL follows the page's scheme and carries the token", () => {
  const url = streamUrl({ protocol: "https:", host: "so.example.vn" }, "f-1", "t k");
  assert.equal(url, "wss://so.example.vn/ws/files/f-1?token=t+k&format=batch");
});
