// A small xlwings-protocol client for Office.js: the book as xlwings' JSON,
// POSTed to /xlwings/custom-scripts-call/{script}; the answer's actions run.
//
// It builds the same payload as xlwings-server's getBookData (client
// "Office.js", values from A1 to the used range, dates as ISO strings, note
// addresses and notes_supported) and runs the actions our scripts emit. Any
// other action is refused by name, so a server newer than this file fails
// loudly instead of half-painting a sheet.

export const HANDLED = [
  "setValues",
  "setRangeColor",
  "addNote",
  "deleteNote",
  "addSheet",
  "setSheetVisibility",
  "alert",
];

const XLWINGS_VERSION = "0.37.8";
const DATE_FORMAT = /[dmy]/i;

function isDateFormat(fmt) {
  if (typeof fmt !== "string" || fmt === "General" || fmt === "@") return false;
  return DATE_FORMAT.test(fmt.replace(/"[^"]*"|\[[^\]]*\]/g, ""));
}

export function convertDateValues(values, formats) {
  return values.map((row, r) =>
    row.map((v, c) =>
      typeof v === "number" && isDateFormat(formats?.[r]?.[c])
        ? new Date(Math.round((v - 25569) * 86400 * 1000)).toISOString()
        : v,
    ),
  );
}

export async function getBookData(context) {
  const wb = context.workbook;
  wb.load("name");
  const sheets = wb.worksheets.load("items/name,items/visibility,items/position");
  const active = wb.worksheets.getActiveWorksheet().load("position");
  const selection = wb.getSelectedRange().load("address");
  await context.sync();
  const notesSupported = Office.context.requirements.isSetSupported("ExcelApi", "1.18");
  const loaders = sheets.items.map((sheet) => {
    const used = sheet.getUsedRangeOrNullObject(true).load("address");
    const notes = notesSupported ? sheet.notes.load("items") : null;
    return { sheet, used, notes };
  });
  await context.sync();
  for (const l of loaders) {
    const last = l.used.isNullObject ? "A1" : l.used.address.split("!").pop().split(":").pop();
    l.range = l.sheet.getRange(`A1:${last}`).load("values,numberFormat");
    l.noteLocations = l.notes ? l.notes.items.map((n) => n.getLocation().load("address")) : [];
  }
  await context.sync();
  return {
    client: "Office.js",
    version: XLWINGS_VERSION,
    book: {
      name: wb.name,
      active_sheet_index: active.position,
      selection: selection.address.split("!").pop(),
    },
    names: [],
    sheets: loaders.map((l) => ({
      name: l.sheet.name,
      visibility: l.sheet.visibility,
      notes: l.noteLocations.map((loc) => ({ address: loc.address.split("!").pop() })),
      notes_supported: notesSupported,
      values: convertDateValues(l.range.values, l.range.numberFormat),
      pictures: [],
      shapes: [],
      charts: [],
      tables: [],
    })),
  };
}

function rangeOf(sheets, action) {
  return sheets.items[action.sheet_position].getRangeByIndexes(
    action.start_row,
    action.start_column,
    action.row_count,
    action.column_count,
  );
}

export async function runActions(context, actions, { onAlert } = {}) {
  for (const [i, action] of actions.entries()) {
    if (!HANDLED.includes(action.func)) {
      throw new Error(
        `Máy chủ gửi thao tác «${action.func}» (thứ ${i + 1}) mà add-in này chưa biết: hãy tải lại bảng trạng thái.`,
      );
    }
    const sheets = context.workbook.worksheets.load("items/name");
    await context.sync();
    const range = () => rangeOf(sheets, action);
    const args = action.args || [];
    switch (action.func) {
      case "setValues":
        range().values = action.values;
        break;
      case "setRangeColor":
        if (args[0] == null) range().format.fill.clear();
        else range().format.fill.color = String(args[0]);
        break;
      case "addNote":
        sheets.items[action.sheet_position].notes.add(String(args[0]), String(args[1]));
        break;
      case "deleteNote": {
        const note = sheets.items[action.sheet_position].notes.getItemOrNullObject(String(args[0]));
        await context.sync();
        if (!note.isNullObject) note.delete();
        break;
      }
      case "addSheet": {
        const added = context.workbook.worksheets.add(args[1] ?? undefined);
        added.position = args[0];
        break;
      }
      case "setSheetVisibility":
        sheets.items[action.sheet_position].visibility = args[0];
        break;
      case "alert":
        if (onAlert) onAlert(String(args[0]), String(args[1] || ""));
        break;
    }
    await context.sync();
  }
}

// Run one script: read the book, POST it, apply the actions; returns the `gradesync` info.
export async function runScript(script, { token, baseUrl = "", onAlert } = {}) {
  let info = null;
  await Excel.run(async (context) => {
    const payload = await getBookData(context);
    const response = await fetch(`${baseUrl}/xlwings/custom-scripts-call/${script}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify(payload),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body?.error?.message || `Máy chủ trả lỗi ${response.status}.`);
    }
    await runActions(context, body.actions || [], { onAlert });
    info = body.gradesync || null;
  });
  return info;
}
