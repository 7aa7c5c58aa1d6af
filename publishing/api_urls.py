from django.urls import path

from publishing import api, api_accounts, api_posts

urlpatterns = [
    path("publishing/projects", api.ProjectList.as_view(), name="publishing_projects"),
    path("publishing/projects/<int:pk>", api.ProjectDetail.as_view(), name="publishing_project"),
    path(
        "publishing/projects/<int:pk>/alert-webhook-secret",
        api.ProjectAlertWebhookSecret.as_view(),
        name="publishing_project_alert_webhook_secret",
    ),
    path("publishing/projects/<int:pk>/sources", api.SourceList.as_view(), name="publishing_sources"),
    path("publishing/projects/<int:pk>/accounts", api_accounts.AccountList.as_view(), name="publishing_accounts"),
    path(
        "publishing/projects/<int:pk>/accounts/bluesky",
        api_accounts.BlueskyConnect.as_view(),
        name="publishing_account_bluesky",
    ),
    path(
        "publishing/projects/<int:pk>/accounts/mastodon",
        api_accounts.MastodonConnect.as_view(),
        name="publishing_account_mastodon",
    ),
    path("publishing/accounts/<int:pk>", api_accounts.AccountDetail.as_view(), name="publishing_account"),
    path("publishing/sources/<int:pk>", api.SourceDetail.as_view(), name="publishing_source"),
    path("publishing/sources/<int:pk>/scan", api.SourceScan.as_view(), name="publishing_source_scan"),
    path("publishing/tasks", api.TaskList.as_view(), name="publishing_tasks"),
    path("publishing/tasks/<int:pk>", api.TaskStatus.as_view(), name="publishing_task_status"),
    path("publishing/tasks/<int:pk>/retry", api.TaskAction.as_view(operation="retry"), name="publishing_task_retry"),
    path("publishing/tasks/<int:pk>/cancel", api.TaskAction.as_view(operation="cancel"), name="publishing_task_cancel"),
    path(
        "publishing/tasks/<int:pk>/post-anyway",
        api.TaskAction.as_view(operation="post-anyway"),
        name="publishing_task_post_anyway",
    ),
    path(
        "publishing/tasks/<int:pk>/mark-posted",
        api.TaskAction.as_view(operation="mark-posted"),
        name="publishing_task_mark_posted",
    ),
    path(
        "publishing/tasks/<int:pk>/evergreen",
        api.TaskAction.as_view(operation="evergreen"),
        name="publishing_task_evergreen",
    ),
    path(
        "publishing/tasks/<int:pk>/not-evergreen",
        api.TaskAction.as_view(operation="not-evergreen"),
        name="publishing_task_not_evergreen",
    ),
    path("publishing/tasks/<int:pk>/change", api.TaskChange.as_view(), name="publishing_task_change"),
    path("publishing/logs", api.LogList.as_view(), name="publishing_logs"),
    path("publishing/posts", api_posts.PostList.as_view(), name="publishing_posts"),
    path("publishing/posts/<int:pk>", api_posts.PostDetail.as_view(), name="publishing_post"),
    path("publishing/posts/<int:pk>/duplicate", api_posts.PostDuplicate.as_view(), name="publishing_post_duplicate"),
    path("publishing/media", api_posts.MediaUpload.as_view(), name="publishing_media"),
    path("publishing/length", api_posts.TextLength.as_view(), name="publishing_length"),
]
