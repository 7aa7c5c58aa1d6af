"""Posting slots per weekday: "Mon-Fri 09:00, 17:00" style entries, stored in one spelling,
and new tasks take only the slots of their day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from publishing.forms import ProjectForm
from publishing.scheduling import parse_slot, slots_next_free
from publishing.services import clean_slot_times, project_create

pytestmark = pytest.mark.django_db


def test_weekday_entries_are_parsed_and_stored_in_one_spelling():
    assert clean_slot_times(["mon-fri 9:00", "SAT 11:00", "09:00", "周一,周三 17:30", "Fri-Mon 08:00"]) == [
        "09:00",
        "Mon,Fri,Sat,Sun 08:00",  # a range across the week's end
        "Mon,Wed 17:30",
        "Mon-Fri 09:00",
        "Sat 11:00",
    ]
    assert parse_slot("Mon-Fri 09:00")[0] == frozenset(range(5))
    for bad in ("Someday 09:00", "Mon-Fri", "Mon 25:00", "Mon Tue 09:00"):
        with pytest.raises(ValidationError) as refused:
            clean_slot_times([bad])
        assert bad in refused.value.message_dict["slot_times"][0]


def test_the_form_finds_entries_whatever_the_separators_and_refuses_the_rest(owner):
    form = ProjectForm(
        {
            "name": "W",
            "daily_cap": 10,
            "duplicate_window_days": 30,
            "slot_times_text": "Mon,Wed 12:30, 09:00;Sat 11:00 junk",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_values()["slot_times"] == ["Mon,Wed 12:30", "09:00", "Sat 11:00", "junk"]


def test_new_tasks_take_only_the_slots_of_their_weekday(owner):
    owner.time_zone = "Asia/Shanghai"
    owner.save()
    project = project_create(
        owner=owner, name="Weekdays", slot_times=["Mon-Fri 09:00", "Mon-Fri 17:00", "Sat 11:00"], daily_cap=0
    )
    friday_noon_utc = datetime.fromisoformat("2026-12-04T04:00:00+00:00")  # Friday 12:00 in Shanghai
    slots = slots_next_free(project=project, count=5, now=friday_noon_utc)
    local = [s.astimezone(ZoneInfo("Asia/Shanghai")) for s in slots]
    assert [(d.strftime("%a"), d.strftime("%H:%M")) for d in local] == [
        ("Fri", "17:00"),
        ("Sat", "11:00"),
        ("Mon", "09:00"),
        ("Mon", "17:00"),
        ("Tue", "09:00"),
    ]
