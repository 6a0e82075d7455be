"""Run the portal: ``python -m feedback_store.portal`` (configuration from the environment)."""

from __future__ import annotations

import argparse
import sys

import settings as settings_module
from feedback_store.portal.app import create_app


def main(argv: list[str] | None = None) -> int:
    """Start the portal on ``ASSISTANT_HOST:PORTAL_PORT``."""
    argparse.ArgumentParser(
        prog="python -m feedback_store.portal",
        description="Serve the portal (agent API, dashboard, widget). Configured by environment "
        "variables: see README or `python -m settings --markdown`.",
    ).parse_args(argv)
    try:
        settings = settings_module.load()
    except settings_module.SettingsError as err:
        print(f"Invalid configuration: {err}", file=sys.stderr)
        return 2
    app = create_app(settings)
    app.run(host=settings.host, port=settings.portal_port, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
