from django.urls import path

from analytics import api

_INTERVALS = {"hourly": "hour", "daily": "day", "weekly": "week"}

urlpatterns = []
for word, interval in _INTERVALS.items():
    urlpatterns += [
        path(
            f"analytics/projects/<int:pk>/{word}",
            api.ProjectSeriesView.as_view(interval=interval),
            name=f"analytics-project-{word}",
        ),
        path(
            f"analytics/publishing/{word}",
            api.PublishingSeriesView.as_view(interval=interval),
            name=f"analytics-publishing-{word}",
        ),
        path(
            f"analytics/messages/{word}",
            api.MessageSeriesView.as_view(interval=interval),
            name=f"analytics-messages-{word}",
        ),
    ]
