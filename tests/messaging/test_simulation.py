"""A seeded lifecycle simulation of many messages, judged by an oracle of its own (tests/messaging/sim).

``CRADLE_SIM_SEED=<n>`` replays a run (the seed is printed, and named in every failure);
``CRADLE_SIM_SCALE`` sizes it (1 = 300 messages over 45 simulated days, about a minute in CI;
``CRADLE_SIM_SCALE=10`` for a long search); ``CRADLE_SIM_PERMANENT=1`` adds far ends that
refuse some addresses for good (550, 410), for code that tells permanent from transient.

    DEBUG=1 CRADLE_SIM_SEED=7 CRADLE_SIM_SCALE=3 .venv/bin/pytest tests/messaging/test_simulation.py -s
"""

from __future__ import annotations

import os
import random
import time

import pytest
import responses
import time_machine

from tests.clock import NOW
from tests.jobs import messaging_minute
from tests.messaging.sim import doubles
from tests.messaging.sim.world import SimConfig, World


def sim_config(**overrides) -> SimConfig:
    seed = int(os.environ.get("CRADLE_SIM_SEED") or random.SystemRandom().randrange(10**6))
    scale = float(os.environ.get("CRADLE_SIM_SCALE", "1"))
    permanent = os.environ.get("CRADLE_SIM_PERMANENT", "") == "1"
    return SimConfig(**{"seed": seed, "scale": scale, "permanent": permanent, **overrides})


@pytest.fixture
def sim_settings(settings):
    config = sim_config()
    settings.EMAIL_BACKEND = "tests.messaging.sim.doubles.FlakyRelay"
    settings.MESSAGING_DAYS_PER_MONTH = config.days_per_month
    settings.MESSAGING_LADDER_DAYS = list(config.ladder_days)
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the receivers are doubles; no name is looked up
    settings.RATE_LIMIT_CHECKIN = settings.RATE_LIMIT_REVOKE = (10**6, 300)
    settings.SESSION_COOKIE_AGE = 10 * 365 * 86400
    return config


@pytest.mark.slow  # a minute or more: kept out of the fast loop, run by bin/test
@pytest.mark.django_db
def test_simulated_lifecycles_keep_the_four_promises(sim_settings):
    config = sim_settings
    print(f"simulation seed {config.seed} scale {config.scale} (replay: CRADLE_SIM_SEED={config.seed})")
    started = time.monotonic()
    with (
        time_machine.travel(NOW, tick=False) as clock,
        responses.RequestsMock(assert_all_requests_are_fired=False) as hooks,
    ):
        hooks.add_callback(responses.POST, doubles.HOOK_PATTERN, callback=doubles.webhook_callback)
        world = World(
            config=config, start=NOW, move_clock=lambda at: clock.move_to(at, tick=False), run_jobs=messaging_minute
        )
        oracle = world.run()
        oracle.final_check(snapshot=world.snapshot())
    print(
        f"{len(oracle.messages)} messages, {world.ticks} ticks, {world.job_runs} job runs, "
        f"{sum(len(w) for w in oracle.warnings.values())} warnings, {len(oracle.deliveries)} addresses served, "
        f"{len(oracle.notices)} notices, answers {dict(oracle.answers)} in {time.monotonic() - started:.0f} s"
    )
    assert not oracle.violations, f"seed {config.seed} (CRADLE_SIM_SEED={config.seed}): {oracle.report()}"
