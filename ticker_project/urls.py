"""URL root: admin, REST API v1, OpenAPI schema and docs, health, metrics, Kite login callback."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.urls import api_router as accounts_api_router
from greeks.api import OptionCandlesView
from streaming.api import QuotesView
from streaming.urls import api_router as streaming_api_router
from subscriptions.urls import api_router as subscriptions_api_router
from ticker_project.api_root import ApiRootView
from ticker_project.health import health_view
from ticker_project.market_time import market_zone_label
from ticker_project.metrics import metrics_view

# The admin modules are discovered here rather than at start-up (SimpleAdminConfig in settings):
# only processes that serve URLs need them.
admin.autodiscover()
# Every admin page says which zone its times are in (ticker_project/market_time.py).
admin.site.site_header = f"Ticker fleet admin · times in {market_zone_label()}"
admin.site.site_title = "Ticker fleet admin"
handler400 = "ticker_project.error_views.bad_request"
handler403 = "ticker_project.error_views.permission_denied"
handler404 = "ticker_project.error_views.page_not_found"
handler500 = "ticker_project.outage.server_error"

urlpatterns = [
    # The chain page (chain/admin_views.py) comes before the admin, whose catch-all would 404 it.
    path("admin/chain/", include("chain.admin_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", ApiRootView.as_view(), name="api-root"),
    path("api/v1/", include(accounts_api_router.urls)),
    path("api/v1/", include(subscriptions_api_router.urls)),
    path("api/v1/", include(streaming_api_router.urls)),
    path("api/v1/quotes/", QuotesView.as_view(), name="quotes"),
    path("api/v1/greeks/candles/", OptionCandlesView.as_view(), name="greeks-candles"),
    path("api/v1/", include("chain.urls")),
    path("api/health/", health_view, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("metrics", metrics_view, name="metrics"),
]
