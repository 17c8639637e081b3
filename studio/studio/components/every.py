"""`every(ms, on_tick)`: an event every `ms` milliseconds while the component is on the page
(`every.jsx`, plain React, no library): what the header polls the unread count with."""

from __future__ import annotations

import reflex as rx

_SOURCE = rx.asset("every.jsx", shared=True)


class Every(rx.Component):
    library = _SOURCE.importable_path
    tag = "Every"

    ms: rx.Var[int]

    on_tick: rx.EventHandler[lambda: []]


every = Every.create
