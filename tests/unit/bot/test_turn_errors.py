"""Errors Rasa logs during one turn are seen by that turn only."""

from __future__ import annotations

import asyncio
import logging

from bot import turn_errors

PROCESSOR = logging.getLogger("rasa.core.processor")


def test_an_error_inside_the_turn_is_recorded():
    with turn_errors.watch() as failures:
        PROCESSOR.info("fine")
        PROCESSOR.error("Encountered an exception while running action 'action_x'.")
    assert failures == ["rasa.core.processor"]


def test_errors_outside_a_turn_and_other_loggers_are_ignored():
    PROCESSOR.error("outside any turn")
    with turn_errors.watch() as failures:
        logging.getLogger("bot.actions.story").error("not one of Rasa's")
        logging.getLogger("rasa.core.tracker_store").warning("only a warning")
    assert failures == []


def test_concurrent_turns_do_not_see_each_other():
    async def turn(fail: bool) -> list[str]:
        with turn_errors.watch() as failures:
            await asyncio.sleep(0.01)
            if fail:
                logging.getLogger("rasa.core.tracker_store").error("database down")
            await asyncio.sleep(0.01)
        return failures

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(turn(True), turn(False)))

    failing, fine = asyncio.run(both())
    assert failing == ["rasa.core.tracker_store"] and fine == []
