// The teacher's token, kept in this add-in's own storage (same origin for the
// task pane and the ribbon's function file).
const KEY = "gradesync.token";

export function getToken() {
  try {
    return window.localStorage.getItem(KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(value) {
  window.localStorage.setItem(KEY, value.trim());
}

export const INFO_KEY = "gradesync.lastInfo";

export function saveInfo(info) {
  window.localStorage.setItem(INFO_KEY, JSON.stringify(info));
}

export function loadInfo() {
  try {
    return JSON.parse(window.localStorage.getItem(INFO_KEY) || "null");
  } catch {
    return null;
  }
}
