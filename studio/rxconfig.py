"""Reflex configuration of the Dirigent studio.

The studio is a Reflex app whose Python backend talks to the Dirigent runtime over HTTP
(`DIRIGENT_RUNTIME_URL`, default http://127.0.0.1:8710); the browser talks only to the
studio. `dirigent up` runs it as a production build on one port (`launch.py`).
"""

from __future__ import annotations

import reflex as rx
from reflex_base.plugins.sitemap import SitemapPlugin
from reflex_components_radix.plugin import RadixThemesPlugin

config = rx.Config(
    app_name="studio",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[RadixThemesPlugin(theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium"))],
    disable_plugins=[SitemapPlugin],
    default_color_mode="light",
)
