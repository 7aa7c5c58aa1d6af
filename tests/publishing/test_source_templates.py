"""Source text templates: only bare placeholders, UTM parameters added to links, and a text
that does not fit X shortened a word at a time in its summary then its title — never a
link, a hashtag, a caption or half a word. The scan uses them; the source page previews
them against the latest item; removing a source keeps, cancels or moves its waiting posts."""

from __future__ import annotations

import re

import pytest
import responses
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from publishing import source_edits, task_counts, x_text
from publishing.models import PublishingTask
from publishing.scan import source_scan
from publishing.services import project_create, source_create
from publishing.text_templates import ELLIPSIS, hashtags_clean, render, template_check, with_utm
from tests.clock import NOW

FEED_URL = "https://blog.example/feed.xml"
LONG = " ".join(f"word{n}" for n in range(120))


def _feed(entries: list[tuple[str, str, str, str]]) -> str:
    items = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>"
        f"<description><![CDATA[<p>{summary}</p>]]></description></item>"
        for guid, title, link, summary in entries
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>{items}</channel></rss>'


@pytest.mark.parametrize(
    "template", ["{link.__class__}", "{0}", "{}", "{title!r}", "{title:>300}", "{author}", "{title", "title}"]
)
def test_a_template_reaching_past_a_bare_placeholder_is_refused_with_the_field(template):
    with pytest.raises(ValidationError) as refused:
        template_check(template)
    assert list(refused.value.message_dict) == ["text_template"]


def test_literal_braces_and_every_placeholder_are_accepted():
    assert template_check(" {{tip}} {title} {summary} {link} {caption} {hashtags} ") == (
        "{{tip}} {title} {summary} {link} {caption} {hashtags}"
    )


def test_utm_parameters_are_added_and_never_replace_the_links_own():
    utm = {"utm_source": "cradle", "utm_medium": "social", "utm_campaign": ""}
    assert with_utm("https://a.example/p?x=1", utm) == "https://a.example/p?x=1&utm_source=cradle&utm_medium=social"
    assert with_utm("https://a.example/p?utm_source=rss", utm) == "https://a.example/p?utm_source=rss&utm_medium=social"
    assert with_utm("mailto:a@b.example", utm) == "mailto:a@b.example"


def test_hashtags_are_normalised_and_a_bad_one_is_refused():
    assert hashtags_clean("cats, #dogs  cats 猫") == "#cats #dogs #猫"
    with pytest.raises(ValidationError) as refused:
        hashtags_clean("good bad#tag")
    assert "bad#tag" in refused.value.message_dict["hashtags"][0]


def test_a_long_summary_is_cut_between_words_and_the_link_and_tags_stay_whole():
    link = "https://blog.example/a-very-long-address/" + "x" * 200
    result = render(
        "{title}: {summary} {link} {hashtags}", {"title": "Title", "summary": LONG, "link": link, "hashtags": "#a #b"}
    )
    assert result.fits and result.shortened
    assert result.text.startswith("Title: word0 word1") and result.text.endswith(f"{ELLIPSIS} {link} #a #b")
    kept = result.text.removeprefix("Title: ").split(ELLIPSIS)[0].split()
    assert kept == LONG.split()[: len(kept)]  # whole words, in order
    # As many as fit: one more word would not.
    longer = "Title: " + " ".join(LONG.split()[: len(kept) + 1]) + f"{ELLIPSIS} {link} #a #b"
    assert not x_text.measure(longer).fits


def test_chinese_is_cut_between_characters_and_counts_two_each():
    summary = "这是一段很长的中文摘要，" * 30
    result = render("{summary} {link}", {"summary": summary, "link": "https://blog.example/1"})
    assert result.fits and result.weighted_length <= 280 and result.text.endswith(f"{ELLIPSIS} https://blog.example/1")


def test_a_caption_is_never_cut_and_a_text_that_cannot_fit_says_so():
    result = render("{caption}", {"caption": LONG})
    assert result.text == LONG and not result.fits and not result.shortened


_word = st.one_of(
    st.text(alphabet="abcdefghij", min_size=1, max_size=12),
    st.sampled_from(["猫", "日本語", "😀", "👩‍👩‍👧", "café", "e\u0301"]),
)
_field = st.lists(_word, max_size=80).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(title=_field, summary=_field, path=st.text(alphabet="abc123", min_size=1, max_size=300))
def test_whatever_the_words_the_link_is_whole_and_each_field_keeps_a_prefix_of_whole_words(title, summary, path):
    link = f"https://example.com/{path}"
    result = render("T:{title} S:{summary} L:{link}", {"title": title, "summary": summary, "link": link})
    assert result.fits  # the title and the summary can always give way to the link
    shown_title, shown_summary, shown_link = re.fullmatch(r"T:(.*?) ?S:(.*?) ?L:(.*)", result.text).groups()
    assert shown_link == link
    for shown, original in ((shown_title, title), (shown_summary, summary)):
        words = shown.removesuffix(ELLIPSIS).split()
        if shown.endswith(ELLIPSIS) and words and words[-1] not in original.split():
            # A CJK run may be cut between characters: the rest must still start the run.
            assert any(w.startswith(words[-1]) for w in original.split())
            words = words[:-1]
        assert " ".join(words) == " ".join(original.split()[: len(words)])


@responses.activate
@pytest.mark.django_db
def test_the_scan_makes_the_text_with_the_template_and_keeps_the_latest_item_for_the_preview(project):
    responses.get(
        FEED_URL,
        body=_feed(
            [("g-2", "Second", "https://blog.example/2", LONG), ("g-1", "First", "https://blog.example/1", "Short")]
        ),
        content_type="application/rss+xml",
    )
    source = source_create(project=project, source_type="rss_feed", path_or_identifier=FEED_URL)
    source_edits.source_update(
        source=source, text_template="New: {title}\n{summary}\n{link} {hashtags}", hashtags="blog", utm_source="cradle"
    )
    assert source_scan(source=source).created == 2
    first = PublishingTask.objects.get(media_path="rss:g-1")
    assert first.text == "New: First\nShort\nhttps://blog.example/1?utm_source=cradle #blog"
    second = PublishingTask.objects.get(media_path="rss:g-2")
    assert second.status == PublishingTask.Status.PENDING and not second.too_long
    assert ELLIPSIS in second.text and second.text.endswith("https://blog.example/2?utm_source=cradle #blog")
    source.refresh_from_db()
    assert source.sample_values == {
        "caption": "Second https://blog.example/2",
        "title": "Second",
        "summary": LONG,
        "link": "https://blog.example/2",
    }


@responses.activate
@pytest.mark.django_db
def test_the_source_page_saves_the_template_and_previews_it_as_typed(client, owner, other_user, project):
    responses.get(
        FEED_URL, body=_feed([("g-1", "Hello", "https://blog.example/1", "World")]), content_type="application/rss+xml"
    )
    source = source_create(project=project, source_type="rss_feed", path_or_identifier=FEED_URL)
    source_scan(source=source)
    client.force_login(owner)
    url = reverse("publishing:source_edit", args=[source.pk])
    page = client.get(url).content.decode()
    assert "Hello https://blog.example/1" in page

    bad = client.post(url, {"text_template": "{title.__class__}", "is_active": "on"})
    assert bad.status_code == 200 and "Unknown placeholder" in bad.content.decode()
    source.refresh_from_db()
    assert source.text_template == ""

    preview_url = reverse("publishing:source_template_preview", args=[source.pk])
    answer = client.post(preview_url, {"text_template": "{summary} — {title} {link}", "utm_medium": "social"}).json()
    assert answer["text"] == "World — Hello https://blog.example/1?utm_medium=social" and answer["fits"]
    refused = client.post(preview_url, {"text_template": "{nope}"})
    assert refused.status_code == 400 and "text_template" in refused.json()["errors"]

    saved = client.post(url, {"text_template": "{title}! {link}", "hashtags": "a b", "is_active": "on"})
    assert saved.status_code == 302
    source.refresh_from_db()
    assert source.text_template == "{title}! {link}" and source.hashtags == "#a #b"

    client.force_login(other_user)
    assert client.get(url).status_code == 404
    assert client.post(preview_url, {"text_template": "{title}"}).status_code == 404


def _queued(project, source, n, status=PublishingTask.Status.PENDING, prefix="k"):
    return PublishingTask.objects.bulk_create(
        PublishingTask(
            project=project,
            source=source,
            media_path=f"{prefix}{i}",
            content_data={"text": f"t{i}"},
            status=status,
            scheduled_at=NOW,
        )
        for i in range(n)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("choice", ["keep", "cancel", "move"])
def test_removing_a_source_keeps_cancels_or_moves_its_waiting_posts(client, owner, project, choice):
    other = project_create(owner=owner, name="Other")
    source = source_create(project=project, source_type="rss_feed", path_or_identifier=FEED_URL)
    _queued(project, source, 3)
    _queued(project, source, 2, status=PublishingTask.Status.SUCCESS, prefix="done")
    _queued(other, None, 1, prefix="k")  # the other project already has item k0
    client.force_login(owner)
    url = reverse("publishing:source_delete", args=[source.pk])
    assert "3 posts from it are waiting" in client.get(url).content.decode()
    response = client.post(url, {"waiting": choice, "move_to": other.pk if choice == "move" else ""})
    assert response.status_code == 302
    assert not project.sources.exists()
    mine = PublishingTask.objects.filter(project=project)
    if choice == "keep":
        assert mine.filter(status=PublishingTask.Status.PENDING).count() == 3
    elif choice == "cancel":
        assert mine.filter(status=PublishingTask.Status.CANCELLED).count() == 3
    else:
        assert PublishingTask.objects.filter(project=other, status=PublishingTask.Status.PENDING).count() == 1 + 2
        assert mine.filter(status=PublishingTask.Status.CANCELLED).count() == 1  # k0 was there already
    assert mine.filter(status=PublishingTask.Status.SUCCESS).count() == 2
    counted = task_counts.counts_of([project.pk, other.pk])
    for p in (project, other):
        actual = {}
        for status in PublishingTask.objects.filter(project=p).values_list("status", flat=True):
            actual[status] = actual.get(status, 0) + 1
        assert {k: v for k, v in counted.get(p.pk, {}).items() if v} == actual


@pytest.mark.django_db
def test_posts_cannot_be_moved_to_someone_elses_project(client, owner, other_user, project):
    theirs = project_create(owner=other_user, name="Theirs")
    source = source_create(project=project, source_type="rss_feed", path_or_identifier=FEED_URL)
    _queued(project, source, 2)
    client.force_login(owner)
    response = client.post(
        reverse("publishing:source_delete", args=[source.pk]), {"waiting": "move", "move_to": theirs.pk}
    )
    assert response.status_code == 200 and project.sources.exists()
    assert not PublishingTask.objects.filter(project=theirs).exists()
    with pytest.raises(ValidationError):
        source_edits.source_delete(source=source, waiting="move", move_to=theirs)
    assert re.search("Select a valid choice", response.content.decode())


@pytest.mark.django_db
def test_the_api_changes_the_template_and_removes_the_source_with_field_errors(
    owner, other_user, project, api_client_for
):
    other = project_create(owner=owner, name="Other")
    theirs = project_create(owner=other_user, name="Theirs")
    source = source_create(project=project, source_type="rss_feed", path_or_identifier=FEED_URL)
    _queued(project, source, 2)
    api = api_client_for(owner, ["publishing:read", "publishing:write"])
    url = f"/api/v1/publishing/sources/{source.pk}"

    bad = api.patch(url, {"text_template": "{title.__init__}"}, format="json")
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["text_template"]
    good = api.patch(url, {"text_template": "{title} {link}", "hashtags": "a", "utm_campaign": "launch"}, format="json")
    assert good.status_code == 200
    assert good.json()["hashtags"] == "#a" and good.json()["utm_campaign"] == "launch"

    outsider = api_client_for(other_user, ["publishing:read", "publishing:write"])
    assert outsider.get(url).status_code == 404
    assert outsider.patch(url, {"hashtags": "x"}, format="json").status_code == 404
    assert outsider.delete(url, {"waiting": "cancel"}, format="json").status_code == 404

    refused = api.delete(url, {"waiting": "move", "move_to": theirs.pk}, format="json")
    assert refused.status_code == 400 and list(refused.json()["error"]["fields"]) == ["move_to"]
    assert api.delete(url, {"waiting": "sideways"}, format="json").status_code == 400
    assert api.delete(url, {"waiting": "move", "move_to": other.pk}, format="json").status_code == 204
    assert PublishingTask.objects.filter(project=other, status=PublishingTask.Status.PENDING).count() == 2
    assert api.get(url).status_code == 404
