"""A seeded lifecycle simulation of many messages, judged by an oracle of its own (tests/messaging/sim).

``CRADLE_SIM_SEED=<n>`` replays a run (the seed is printed, and named in every failure; the
default is one fixed scenario, ``CRADLE_SIM_SEED=random`` draws a new one);
Every message runs on a random ladder (the seed's, a preset, a custom one) and owners pause
every message or one at random (``CRADLE_SIM_LADDERS=0`` / ``CRADLE_SIM_PAUSES=0`` leave them out).
``CRADLE_SIM_SCALE`` sizes it (the default 0.5: 150 messages over 35 simulated days on random ladders and
pauses, under a minute in CI;
``CRADLE_SIM_SCALE=10`` for a long search). Some far ends refuse addresses for good (550, 410)
and the staff alarm is expected for them; ``CRADLE_SIM_PERMANENT=0`` leaves them out.

    DEBUG=1 CRADLE_SIM_SEED=7 CRADLE_SIM_SCALE=3 .venv/bin/pytest tests/messaging/test_simulation.py -s
"""

from __future__ import annotations

import json
import os
import random
import time

import pytest
import responses
import time_machine
from django.conf import settings
from django.utils import timezone

from tests.clock import NOW
from tests.conftest import run_python
from tests.jobs import messaging_minute
from tests.messaging.sim import doubles
from tests.messaging.sim.world import SimConfig, World

DEFAULT_SEED = 20261201


def sim_config(**overrides) -> SimConfig:
    # A fixed scenario by default, so a CI run is a verdict on the code, not on luck;
    # CRADLE_SIM_SEED=random explores a new one each run (the seed is printed to replay it).
    wanted = os.environ.get("CRADLE_SIM_SEED") or str(DEFAULT_SEED)
    seed = random.SystemRandom().randrange(10**6) if wanted == "random" else int(wanted)
    scale = float(os.environ.get("CRADLE_SIM_SCALE", "0.5"))
    permanent = os.environ.get("CRADLE_SIM_PERMANENT", "1") != "0"
    ladders = os.environ.get("CRADLE_SIM_LADDERS", "1") != "0"
    pauses = os.environ.get("CRADLE_SIM_PAUSES", "1") != "0"
    return SimConfig(
        **{"seed": seed, "scale": scale, "permanent": permanent, "ladders": ladders, "pauses": pauses, **overrides}
    )


@pytest.fixture
def sim_settings(settings):
    config = sim_config()
    settings.EMAIL_BACKEND = "tests.messaging.sim.doubles.FlakyRelay"
    settings.MESSAGING_DAYS_PER_MONTH = config.days_per_month
    settings.MESSAGING_LADDER_DAYS = list(config.ladder_days)
    settings.MESSAGING_PAUSE_MAX_DAYS = config.pause_max_days
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the receivers are doubles; no name is looked up
    settings.RATE_LIMIT_CHECKIN = settings.RATE_LIMIT_REVOKE = (10**6, 300)
    settings.RATE_LIMIT_PING_FAILURES = settings.RATE_LIMIT_PING_OWNER = (10**6, 300)
    settings.SESSION_COOKIE_AGE = 10 * 365 * 86400
    settings.ADMINS = [("Staff", "staff@ops.sim.test")]
    settings.MESSAGING_UNREACHABLE_GRACE_DAYS = config.grace_days
    settings.RATE_LIMIT_CONTACT_CODE = settings.RATE_LIMIT_CONTACT_VERIFY = (10**6, 300)
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
        oracle.final_check(snapshot=world.snapshot(), health_strict=world.health_strict())
    print(
        f"{len(oracle.messages)} messages, {world.ticks} ticks, {world.job_runs} job runs, "
        f"{sum(len(w) for w in oracle.warnings.values())} warnings, {len(oracle.deliveries)} addresses served, "
        f"{len(oracle.notices)} notices, {_unreachable()} steps counted as owner unreachable "
        f"(owners gone: {sorted(oracle.owner_gone)}), {world.overdue_after_outage} messages overdue after a "
        f"{config.long_outage_days}-day outage, answers {dict(oracle.answers)} in {time.monotonic() - started:.0f} s"
    )
    assert not oracle.violations, f"seed {config.seed} (CRADLE_SIM_SEED={config.seed}): {oracle.report()}"
    # The long outage was lived through, not skipped: messages came out of it overdue.
    assert world.overdue_after_outage > 0 or not config.long_outage_days


def _unreachable() -> int:
    from messaging.models import StatusLog

    return StatusLog.objects.filter(status=StatusLog.Status.OWNER_UNREACHABLE).count()


CHILD = r"""
import os, sys, time, traceback
from datetime import datetime
import responses, time_machine
from django.conf import settings
settings.EMAIL_BACKEND = "tests.messaging.sim.doubles.FlakyRelay"
settings.OUTBOUND_ALLOW_PRIVATE = True
from tests.jobs import messaging_minute
from tests.messaging.sim import doubles
progress = os.environ["CRADLE_SIM_PROGRESS"]
responses.start()
responses.add_callback(responses.POST, doubles.HOOK_PATTERN, callback=doubles.webhook_callback)
done, errors = None, 0
while True:
    state = doubles._control()
    if state.get("stop"):
        break
    if state["tick"] == done:
        time.sleep(0.003)
        continue
    with time_machine.travel(datetime.fromisoformat(state["now"]), tick=False):
        try:
            messaging_minute()
        except Exception:  # a job that fails is retried by the next minute, as in the cluster
            errors += 1
            traceback.print_exc()
    done = state["tick"]
    with open(progress + ".tmp", "w") as handle:
        handle.write(str(done))
    os.replace(progress + ".tmp", progress)
print("job errors", errors)
"""


class Children:
    """Worker processes that run messaging_minute() at the parent's simulated time, all at once."""

    def __init__(self, tmp_path, *, count: int, config: SimConfig) -> None:
        self.control = tmp_path / "control.json"
        self.tick = 0
        self.state = {"tick": 0, "now": NOW.isoformat()}
        self._write()
        self.mailbox = doubles.Mailbox(str(tmp_path / "mailbox.jsonl"))
        self.progress = [tmp_path / f"progress-{i}" for i in range(count)]
        env = {
            "CRADLE_SIM_CONTROL": str(self.control),
            "CRADLE_SIM_MAILBOX": self.mailbox.path,
            "MESSAGING_DAYS_PER_MONTH": str(config.days_per_month),
            "MESSAGING_LADDER_DAYS": ",".join(map(str, config.ladder_days)),
            "MESSAGING_SWEEP_BATCH_SIZE": "7",  # small batches: the sweeps interleave
            "MESSAGING_UNREACHABLE_GRACE_DAYS": str(config.grace_days),
            # The children send the staff alarms too: they must know whom to tell.
            "ADMINS": ",".join(f"{name} <{address}>" for name, address in settings.ADMINS),
        }
        self.processes = [run_python(CHILD, CRADLE_SIM_PROGRESS=str(p), **env) for p in self.progress]

    def _write(self) -> None:
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state))
        os.replace(tmp, self.control)

    def start_minute(self) -> None:
        """Let every child run the jobs once at the parent's present (after the last minute has run)."""
        self.settle()
        faults = doubles.FAULTS
        self.tick += 1
        self.state = {
            "tick": self.tick,
            "now": timezone.now().isoformat(),
            "smtp_down": faults.smtp_down,
            "hooks_down": faults.hooks_down,
            "hooks_ambiguous": faults.hooks_ambiguous,
            "refused": sorted(faults.refused_addresses),
            "gone": sorted(faults.gone_urls),
        }
        self._write()

    def settle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for path, process in zip(self.progress, self.processes, strict=True):
            while not (path.exists() and path.read_text() == str(self.tick)):
                assert process.poll() is None, process.communicate()[1][-3000:]
                assert time.monotonic() < deadline, f"a child did not run tick {self.tick} within {timeout} s"
                time.sleep(0.003)

    def stop(self) -> list[str]:
        self.state = {**self.state, "stop": True}
        self._write()
        errors = []
        for process in self.processes:
            out, err = process.communicate(timeout=60)
            errors.append(err[-3000:] if process.returncode else "")
            errors.append(out.strip())
        return errors


@pytest.mark.mariadb_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_simulated_lifecycles_with_three_sweeping_processes_keep_the_four_promises(sim_settings, tmp_path):
    config = SimConfig(
        seed=sim_settings.seed,
        scale=sim_settings.scale * 0.25,
        permanent=sim_settings.permanent,
        owners=4,
        max_months=2,
        race=True,
    )
    print(f"simulation seed {config.seed} scale {config.scale} (replay: CRADLE_SIM_SEED={config.seed})")
    started = time.monotonic()
    with (
        time_machine.travel(NOW, tick=False) as clock,
        responses.RequestsMock(assert_all_requests_are_fired=False) as hooks,
    ):
        # The parent posts too: the owners' push contacts get their verification codes from it.
        hooks.add_callback(responses.POST, doubles.HOOK_PATTERN, callback=doubles.webhook_callback)
        children = Children(tmp_path, count=3, config=config)
        try:
            world = World(
                config=config,
                start=NOW,
                move_clock=lambda at: clock.move_to(at, tick=False),
                run_jobs=children.start_minute,
                accepted=children.mailbox.read,
                settle=children.settle,
            )
            oracle = world.run()
        finally:
            outputs = children.stop()
        oracle.final_check(snapshot=world.snapshot(), health_strict=world.health_strict())
    print(
        f"{len(oracle.messages)} messages, {world.ticks} ticks, {_unreachable()} steps counted as owner unreachable "
        f"in {time.monotonic() - started:.0f} s; {outputs}"
    )
    assert not oracle.violations, f"seed {config.seed} (CRADLE_SIM_SEED={config.seed}): {oracle.report()}"
