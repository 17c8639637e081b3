"""Starter flows: the flows in `starters/` that champions start from.

    loader.py      reads `starters/<slug>/` into a `Starter`: the flow document with its
                   `$file` prompt references resolved and `tests.json` merged in
    controller.py  `GET /api/starters` for the studio's "new flow" gallery (and its
                   deprecated former name `GET /api/templates`)

The layout of a starter directory is described in `starters/README.md`.
"""
