// Screenshot stand-in for Excel: Office.js and Excel.run do nothing, the
// websocket plays a snapshot like the server's. Only for docs/img screenshots.
window.gradesyncInOffice = true;
window.Office = {
  HostType: { Excel: "Excel" },
  onReady: (cb) => Promise.resolve(cb ? cb({ host: "Excel" }) : { host: "Excel" }),
  context: { requirements: { isSetSupported: () => true } },
};
window.Excel = { run: async () => undefined };
localStorage.setItem("gradesync.token", "token-minh-hoa");
localStorage.setItem(
  "gradesync.lastInfo",
  JSON.stringify({
    script: "send_to_so",
    message:
      "Đã lưu sổ điểm (mã tệp 3f2c…): 3 dòng hợp lệ sẽ được gửi, 1 dòng có lỗi không gửi. Đang gửi; các dòng sẽ đổi màu khi Sở trả kết quả.",
    file_id: "3f2c9a1e-5b7d-4c11-9e0a-2d6f8b7c4a10",
    counts: { rows: 4, valid: 3, invalid: 1 },
    layout: { "Toán": { header_row: 5, status_col: 10, first_row: 6, last_row: 9 } },
    problems: [],
  }),
);
class FakeSocket {
  constructor() {
    setTimeout(() => {
      this.onopen?.();
      const rows = [
        { sheet: "Toán", row: 6, validation: "VALID", sync: "SYNCED", errors: [] },
        { sheet: "Toán", row: 7, validation: "VALID", sync: "SYNCED", errors: [] },
        { sheet: "Toán", row: 8, validation: "VALID", sync: "FAILED",
          errors: [{ code: "STUDENT_NOT_IN_CLASS", message: "Học sinh 7999999999 không có trong danh sách lớp 6A1 của Sở." }] },
        { sheet: "Toán", row: 9, validation: "INVALID", sync: "NOT_SENT",
          errors: [{ code: "SCORE_OUT_OF_RANGE", cell: "H9", message: "Điểm ĐĐGgk phải từ 0 đến 10 (đang là 11, ô H9)." }] },
      ];
      const counts = { rows: 4, valid: 3, invalid: 1, pending: 0, synced: 2, failed: 1, dead: 0 };
      this.onmessage?.({ data: JSON.stringify({ type: "snapshot", counts, rows }) });
    }, 50);
  }
  close() {}
}
window.WebSocket = FakeSocket;
