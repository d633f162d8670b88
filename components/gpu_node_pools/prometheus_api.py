"""The rightsize report's one side effect: asking a Prometheus server its HTTP API (`/api/v1/query`,
`/api/v1/query_range`) the report's queries, with the standard library.

Every failure becomes a `PrometheusError` that names the URL, so the command can say what to fix.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .rightsize import Window, queries

__all__ = ["PrometheusError", "fetch_answers", "parse_duration"]

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
TIMEOUT_SECONDS = 60


class PrometheusError(Exception):
    pass


def parse_duration(text: str, flag: str) -> int:
    """Seconds in a Prometheus duration (`7d`, `1h30m`); ValueError names the flag."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{flag} {text!r}: not a duration (like 7d, 12h or 1h30m)")
    seconds = int(sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))
    if seconds <= 0:
        raise ValueError(f"{flag} {text!r}: must be longer than 0s")
    return seconds


def _get(base: str, path: str, params: dict[str, str]) -> Any:
    url = f"{base.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        try:
            detail = json.loads(detail).get("error", detail)
        except ValueError:
            pass
        raise PrometheusError(f"Prometheus at {base} answered {error.code} to {params['query']!r}: "
                              f"{str(detail).strip()[:300]}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise PrometheusError(f"cannot reach Prometheus at {base} (--prometheus): {reason}") from error
    except ValueError as error:
        raise PrometheusError(f"{base} did not answer as Prometheus' HTTP API does (not JSON): is --prometheus "
                              "the server's base URL?") from error
    if not isinstance(body, dict) or body.get("status") != "success":
        raise PrometheusError(f"Prometheus at {base} answered {body!r:.300}")
    return body["data"]


def fetch_answers(base: str, window: Window) -> dict[str, Any]:
    """Each of the report's queries, answered: {query name: the API's `data`}."""
    if not base.startswith(("http://", "https://")):
        raise PrometheusError(f"--prometheus {base!r}: not an http:// or https:// URL")
    answers = {}
    for query in queries(window):
        if query.ranged:
            params = {"query": query.promql, "start": f"{window.start:.3f}", "end": f"{window.end:.3f}",
                      "step": f"{window.step}s"}
            answers[query.name] = _get(base, "/api/v1/query_range", params)
        else:
            answers[query.name] = _get(base, "/api/v1/query", {"query": query.promql, "time": f"{window.end:.3f}"})
    return answers
