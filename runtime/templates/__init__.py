"""Starter templates: the flows in `templates/` that champions start from.

    loader.py      reads `templates/<slug>/` into a `StarterTemplate`: the flow document with
                   its `$file` prompt references resolved and `tests.json` merged in
    controller.py  `GET /api/templates` for the studio's "new flow" dialog

The layout of a template directory is described in `templates/README.md`.
"""
