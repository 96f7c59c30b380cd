// Ribbon buttons (ExecuteFunction): run a script, save its answer for the task pane.
import { runScript } from "./xlwings-client.js";
import { getToken, saveInfo } from "./settings.js";

async function run(script, event) {
  try {
    const token = getToken();
    if (!token) {
      // No token yet: the task pane asks for it.
      if (Office.addin?.showAsTaskpane) await Office.addin.showAsTaskpane();
      return;
    }
    const info = await runScript(script, { token });
    if (info) saveInfo(info);
  } catch (error) {
    saveInfo({ script, message: String(error?.message || error), error: true });
  } finally {
    event.completed();
  }
}

if (window.Office) {
  Office.onReady(() => {
    Office.actions.associate("validateSheet", (e) => run("validate_sheet", e));
    Office.actions.associate("sendToSo", (e) => run("send_to_so", e));
    Office.actions.associate("refreshStatus", (e) => run("refresh_status", e));
  });
}
