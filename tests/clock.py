"""The suite's one frozen clock. Tests that freeze time travel to NOW
(``time_machine.travel(NOW, tick=False)``) and date their data from it.

A Monday on a half-hour, so publishing slots (every 30 minutes) fall on it and the hour
12:00-13:00 has data on both sides of NOW.
"""

from datetime import UTC, datetime

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
