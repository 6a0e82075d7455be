"""Action server entry point: ``python -m bot.action_server``.

Wraps rasa-sdk's app so that it listens on ``ASSISTANT_HOST`` only (internal), allows no
browser origin, and loads the data, indexes and models of ``orientation/`` and
``feedback_store/`` once at start (a Sanic listener), not on a usager's first turn.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Load every process-wide factory the actions use."""
    started = time.monotonic()
    from feedback_store.classifier.registry import get_classifier
    from feedback_store.scrubbing import get_scrubber
    from orientation.catalogue import get_catalogue
    from orientation.france_services import get_directory
    from orientation.places import get_place_resolver
    from orientation.ranking import get_ranker

    for factory in (
        get_catalogue,
        get_ranker,
        get_place_resolver,
        get_directory,
        get_scrubber,
        get_classifier,
    ):
        factory()
    try:  # migrate the story database and replay stories queued while it was down
        from bot.actions.feedback_db import flush_outbox, get_session_factory

        get_session_factory()
        flush_outbox()
    except Exception as err:  # noqa: BLE001 - the outbox keeps stories until the DB is back
        logger.warning(
            "Story database unreachable at start (%s): stories go to the outbox", type(err).__name__
        )
    logger.info("Action server warmed up in %.1f s", time.monotonic() - started)


async def flush_outbox_forever(interval_s: float) -> None:
    """Every ``interval_s``, write the stories queued while the database was down."""
    import asyncio

    from bot.actions.feedback_db import flush_outbox, outbox_waiting

    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval_s)
        try:
            if outbox_waiting():
                await loop.run_in_executor(None, flush_outbox)
        except Exception as err:  # noqa: BLE001 - keep trying while the server runs
            logger.warning("Story outbox: periodic flush failed (%s)", type(err).__name__)


def main(argv: list[str] | None = None) -> int:
    """Start the action server on ``ASSISTANT_HOST:ACTIONS_PORT``."""
    argparse.ArgumentParser(
        prog="python -m bot.action_server",
        description="Serve the custom actions (internal only). Configured by the environment.",
    ).parse_args(argv)
    import settings as settings_module

    try:
        settings = settings_module.load()
    except settings_module.SettingsError as err:
        print(f"Invalid configuration: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    from rasa_sdk.endpoint import create_app

    from feedback_store import http_hardening

    app = create_app("bot.actions", cors_origins=[])
    http_hardening.install(app)  # a bad Content-Length would otherwise freeze the worker

    async def _warm(_app: object, loop: object) -> None:
        warm_up()

    async def _start_flusher(app_: object, loop: object) -> None:
        app_.add_task(flush_outbox_forever(settings.outbox_flush_interval_s))

    app.register_listener(_warm, "before_server_start")
    app.register_listener(_start_flusher, "after_server_start")
    app.run(host=settings.host, port=settings.actions_port, access_log=False, workers=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
