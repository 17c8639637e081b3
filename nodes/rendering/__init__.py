"""Rendering the Jinja2 text of flows (prompts, bodies, output mappings, router
conditions): sandboxed, budgeted, and off the event loop.

    templating.py  render / evaluate in the calling thread, and the references a
                   template makes (`{{ node.field }}`), for validation
    sandbox.py     `BudgetedEnvironment`: the immutable sandbox that checks the budget
    budget.py      the limits of one render (`TemplateLimits`) and the meter that keeps them
    filters.py     Jinja's filters and globals, each bounded by the budget
    workers.py     `Templates`: what the engine renders with (`ctx.render`, `ctx.evaluate`);
                   plain lookups in-process, everything else in worker processes with a
                   CPU, wall-clock and memory limit
    worker.py      one such worker process (`python -m nodes.rendering.worker`)

Not to be confused with the `template` node type (`nodes/template.py`), which renders
one of these texts as a step of a flow, or with starter flows (`starters/`).
"""
