"""The composer page per network (issue 19): the owner chooses X and each connected account;
the post becomes one task per chosen network, its text checked by each network's own rules
(publishing.networks), with a counter and a preview per network. By persona: the owner and
an outsider's account (refused)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from publishing.models import NetworkAccount, PublishingTask
from publishing.services import project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(project):
    toot = NetworkAccount.objects.create(
        project=project,
        network="mastodon",
        instance_url="https://toot.example",
        handle="@ada@toot.example",
        access_token="t",
        limits={"max_characters": 1000, "characters_reserved_per_url": 23},
    )
    sky = NetworkAccount.objects.create(project=project, network="bluesky", handle="ada.bsky.social", app_password="p")
    return toot, sky


def _form(project, text, **extra):
    return {"project": project.pk, "post_count": "1", "text_0": text, "action": "save", "networks_shown": "1"} | extra


def test_the_page_offers_x_and_each_connected_account_with_its_limit(client, owner, project, accounts):
    toot, sky = accounts
    client.force_login(owner)
    page = client.get(reverse("publishing:compose")).content.decode()
    assert 'name="to_x"' in page and f'value="{toot.pk}"' in page and f'value="{sky.pk}"' in page
    assert f'id="count-0-{toot.pk}"' in page and 'data-net-limit="1000"' in page and 'data-net-limit="300"' in page
    assert "@ada@toot.example" in page and "ada.bsky.social" in page


def test_it_queues_one_task_per_chosen_network(client, owner, project, accounts):
    toot, sky = accounts
    client.force_login(owner)
    body = _form(
        project,
        "Three networks",
        to_x="1",
        account=[str(toot.pk), str(sky.pk)],
        spoiler_text="cw",
        visibility="unlisted",
    )
    response = client.post(reverse("publishing:compose"), body)
    assert response.status_code == 302, response.content.decode()[:2000]
    tasks = {t.account_id: t for t in PublishingTask.objects.all()}
    assert set(tasks) == {None, toot.pk, sky.pk}
    assert (
        tasks[toot.pk].content_data["spoiler_text"] == "cw" and tasks[toot.pk].content_data["visibility"] == "unlisted"
    )
    assert "spoiler_text" not in tasks[None].content_data and "spoiler_text" not in tasks[sky.pk].content_data


def test_x_can_be_left_out_and_nothing_chosen_is_a_form_error(client, owner, project, accounts):
    toot, sky = accounts
    client.force_login(owner)
    assert (
        client.post(reverse("publishing:compose"), _form(project, "Bluesky only", account=[str(sky.pk)])).status_code
        == 302
    )
    assert list(PublishingTask.objects.values_list("account_id", flat=True)) == [sky.pk]
    response = client.post(reverse("publishing:compose"), _form(project, "Nowhere"))
    assert response.status_code == 400 and "Choose at least one network." in response.content.decode()
    assert PublishingTask.objects.count() == 1


def test_a_text_too_long_for_one_chosen_network_is_refused_with_its_reason(client, owner, project, accounts):
    toot, sky = accounts
    client.force_login(owner)
    text = "猫" * 301  # Mastodon: 301 of 1000; Bluesky: 301 of 300 (X is left out)
    response = client.post(reverse("publishing:compose"), _form(project, text, account=[str(toot.pk), str(sky.pk)]))
    page = response.content.decode()
    assert response.status_code == 400 and "Too long for Bluesky" in page and "301 of 300" in page
    assert "301 of 1000" in page  # the Mastodon preview's own count
    assert not PublishingTask.objects.exists()
    ok = client.post(reverse("publishing:compose"), _form(project, text, account=[str(toot.pk)]))
    assert ok.status_code == 302 and PublishingTask.objects.get().account_id == toot.pk


def test_an_account_of_another_project_or_owner_is_refused(client, owner, other_user, project, accounts):
    theirs = project_create(owner=other_user, name="Theirs", slot_interval_minutes=30, daily_cap=10)
    foreign = NetworkAccount.objects.create(project=theirs, network="bluesky", handle="eve.bsky.social")
    mine_elsewhere = project_create(owner=owner, name="Other", slot_interval_minutes=30, daily_cap=10)
    elsewhere = NetworkAccount.objects.create(project=mine_elsewhere, network="bluesky", handle="ada2.bsky.social")
    client.force_login(owner)
    for pk in (foreign.pk, elsewhere.pk, 999999):
        response = client.post(reverse("publishing:compose"), _form(project, "hi", to_x="1", account=[str(pk)]))
        assert response.status_code == 400 and "Choose accounts connected to this project." in response.content.decode()
    assert not PublishingTask.objects.exists()


def test_a_form_without_the_chooser_is_x_alone_as_before(client, owner, project, accounts):
    client.force_login(owner)
    body = {"project": project.pk, "post_count": "1", "text_0": "Old page", "action": "save"}
    assert client.post(reverse("publishing:compose"), body).status_code == 302
    assert PublishingTask.objects.get().account_id is None


def test_editing_a_copy_checks_its_own_network_and_keeps_its_content_warning(client, owner, project, accounts):
    toot, _sky = accounts
    client.force_login(owner)
    client.post(reverse("publishing:compose"), _form(project, "Short", account=[str(toot.pk)], spoiler_text="cw"))
    task = PublishingTask.objects.get()
    page = client.get(reverse("publishing:post_edit", args=[task.pk])).content.decode()
    assert (
        "This copy goes to Mastodon" in page
        and 'data-network="mastodon"' in page
        and 'name="networks_shown"' not in page
    )
    long_for_x = "x" * 600  # over X's 280, within this instance's 1000
    body = {"post_count": "1", "text_0": long_for_x, "action": "save"}
    assert client.post(reverse("publishing:post_edit", args=[task.pk]), body).status_code == 302
    task.refresh_from_db()
    assert task.content_data["text"] == long_for_x and task.content_data["spoiler_text"] == "cw"
    preview = client.get(reverse("publishing:post_preview", args=[task.pk])).content.decode()
    assert "600 of 1000" in preview
