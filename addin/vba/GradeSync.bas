Attribute VB_Name = "GradeSync"
' gradesync for desktop Excel without Office.js (Excel 2010-2019): the same
' three scripts as the ribbon add-in, through xlwings' VBA client.
'
' Needs the xlwings add-in of EXACTLY the server's xlwings version, 0.37.8
' (xlwings.xlam from the xlwings 0.37.8 release; its "Remote" module provides
' RunServerPython). A different version is refused by the server.
'
' Settings, in a sheet named "xlwings.conf" (column A the key, column B the value):
'   GRADESYNC_URL   https://gradesync.truong.edu.vn
'   AUTH            Bearer <token do nha truong cap>
'
' Assign the three macros below to buttons or the Quick Access Toolbar.

Option Explicit

Private Function ServerUrl() As String
    ServerUrl = GetConfig("GRADESYNC_URL", "")
    If ServerUrl = "" Then
        MsgBox "Chua co dia chi may chu: them dong GRADESYNC_URL vao trang xlwings.conf.", _
            vbExclamation, "gradesync"
    End If
End Function

Private Sub RunScript(script As String)
    Dim url As String
    url = ServerUrl()
    If url = "" Then Exit Sub
    RunServerPython url & "/xlwings/custom-scripts-call/" & script, timeout:=120000
End Sub

' Kiem tra: o sai to do, ly do o cot trang thai.
Sub KiemTra()
    RunScript "validate_sheet"
End Sub

' Gui len So: kiem tra, luu tren may chu, gui cac dong hop le.
Sub GuiLenSo()
    RunScript "send_to_so"
End Sub

' Cap nhat trang thai: to lai tung dong theo ket qua moi nhat.
Sub CapNhatTrangThai()
    RunScript "refresh_status"
End Sub

' Called by the server (action runMacro): a VBA client cannot run
' setRangeColor(None), so clearing our old fills goes through here.
Sub GradeSync_ClearFill(wb As Workbook, sheetName As String, address As String)
    wb.Worksheets(sheetName).Range(address).Interior.ColorIndex = xlColorIndexNone
End Sub

' Called by the server (action runMacro): hides the state sheet it added.
Sub GradeSync_HideSheet(wb As Workbook, sheetName As String)
    wb.Worksheets(sheetName).Visible = xlSheetHidden
End Sub
