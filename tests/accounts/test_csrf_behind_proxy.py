"""Behind a TLS-terminating proxy the browser's Origin is https:// while the app, not told to
trust the proxy, sees http://: the refusal says which setting fixes it, and with the setting
the same request goes through."""

from __future__ import annotations

from dashapp import context_of, create_app
from tests.conftest import make_settings

PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def test_a_proxied_change_names_forwarded_proxies_until_it_is_set(tmp_path, sqlite_url, clock):
    for proxies, expected in ((0, 403), (1, 201)):
        settings = make_settings(tmp_path / str(proxies), sqlite_url, forwarded_proxies=proxies)
        app = create_app(settings, clock=clock)
        try:
            answer = app.server.test_client().post(
                "/api/portfolios",
                json={"name": f"Behind {proxies}"},
                headers={"Origin": "https://localhost", **PROXIED},
            )
            assert answer.status_code == expected, answer.get_data(as_text=True)
            if expected == 403:
                assert "set FORWARDED_PROXIES" in answer.get_json()["error"]
        finally:
            context_of(app).close()
