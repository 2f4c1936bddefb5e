"""Talking to the running emulator's ``/_lab`` API from the lab CLI, over HTTPS with the
emulator's CA (never unverified)."""

from __future__ import annotations

import ssl

import httpx


class LabApiError(RuntimeError):
    pass


def call(facts: dict, method: str, path: str, payload=None, timeout: float = 120.0):
    context = ssl.create_default_context(cafile=facts["ca_path"])
    try:
        answer = httpx.request(method, facts["graph_endpoint"] + "/_lab" + path, json=payload, verify=context,
                               timeout=timeout)
    except httpx.TransportError as error:
        raise LabApiError("the Graph emulator at %s does not answer (%s); is the lab up? (make lab-up)"
                          % (facts["graph_endpoint"], error)) from error
    body = answer.json() if answer.content else None
    if answer.status_code >= 400:
        raise LabApiError("%s /_lab%s: %s %s" % (method, path, answer.status_code,
                                                 (body or {}).get("error") if isinstance(body, dict) else body))
    return body
