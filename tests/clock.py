"""The suite's one frozen clock. Tests that freeze time travel to NOW
(``time_machine.travel(NOW, tick=False)``) and date their data from it; no test compares
against the wall clock, so none depends on the day it runs.

A Monday at noon UTC, on an hour and a half-hour slot boundary; the analytics tests'
literal dates (2025-03-10) are this day.
"""

from datetime import UTC, datetime

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
