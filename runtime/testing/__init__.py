"""Test cases of flow versions: run them, keep the reports, gate submission on them.

    assertions.py   the checks of a case, evaluated on what its run did
    runner.py       runs a version's cases in memory through the real engine (never a real
                    run: no run rows, no approval tasks, no connection calls)
    models.py       the stored reports (table `test_reports`, migration 0004)
    gate.py         whether a version may be submitted: its latest fixed-mode report passed
    service.py      run the cases of a stored version, store and read reports (audited)
    controller.py   the HTTP API: POST .../versions/{n}/test, GET .../test-reports

The cases themselves are part of the flow document (`runtime.engine.cases`).
"""
