"""``gradesync demo``: the whole story end to end on one machine.

Modules: :mod:`.story` (the data and what must come of it), :mod:`.workbook`
(the filled sample workbook), :mod:`.processes` (simulator and server as child
processes), :mod:`.api` (the HTTP clients), :mod:`.outcome` (the final
judgement), :mod:`.report` (terminal output), :mod:`.runner` (the steps),
:mod:`.cli` (``register`` for the command line).
"""
