"""Test cases of flow versions: run them, keep the reports, gate submission on them.

    assertions.py   the checks of a case, evaluated on what its run did
    runner.py       runs a version's cases in memory through the real engine (never a real
                    run: no run rows, no approval tasks, no connection calls)
    service.py      run the cases of a stored version, store and read reports (audited)
    responses.py    the reports as the API answers them (TestReportOut)
    rules.py        the rules clients build cases with, read from the engine's models
    controller.py   the HTTP API: POST .../versions/{n}/test, GET .../test-reports,
                    GET /api/test-cases/rules

The cases themselves are part of the flow document (`runtime.engine.cases`), and checked
against their flow with it (`runtime.engine.case_validation`): the engine parses and
validates documents, and builds on no slice, so they stay there. The stored
reports (`runtime.flows.test_reports`, table `test_reports`, migration 0004) and the gate
on submission (`runtime.flows.gate`) belong to the flows slice, which this one builds on:
submitting is a step of a version's lifecycle.
"""
