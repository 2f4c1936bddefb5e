"""Absolute URLs Graph hands back get the bearer token only on graph_endpoint's own origin, over
https (issue 26, finding 9): a next link elsewhere fails the read before anything is sent to it."""

import httpx
import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory as entra_directory
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphClient, GraphError

ENDPOINT = "https://graph.test"


class Token:
    def __init__(self):
        self.calls = 0

    def get(self):
        self.calls += 1
        return "tok"


def client_paging_to(next_link):
    """A client whose first page of /users points at ``next_link``; returns (client, the
    requests the transport saw, the token)."""
    seen = []

    def handler(request):
        seen.append(request)
        if request.url.path == "/v1.0/$batch":
            return httpx.Response(200, json={"responses": [
                {"id": "0", "status": 200, "body": {"value": [{"id": "1"}], "@odata.nextLink": next_link}}]})
        if "skiptoken" in str(request.url):
            return httpx.Response(200, json={"value": [{"id": "2"}]})
        return httpx.Response(200, json={"value": [{"id": "1"}], "@odata.nextLink": next_link})

    token = Token()
    return GraphClient(ENDPOINT, token, transport=httpx.MockTransport(handler)), seen, token


@pytest.mark.parametrize("next_link,why", [
    ("http://graph.test/v1.0/users?$skiptoken=abc", "is not https"),
    ("https://attacker.example/v1.0/users?$skiptoken=abc", "origin https://attacker.example:443"),
    ("https://graph.test:8443/v1.0/users?$skiptoken=abc", "origin https://graph.test:8443"),
    ("https://graph.test.attacker.example/v1.0/users?$skiptoken=abc", "is not graph_endpoint's"),
    ("ftp://graph.test/users?$skiptoken=abc", "is not https"),
])
def test_a_next_link_off_the_endpoint_is_refused_and_never_requested(next_link, why):
    client, seen, token = client_paging_to(next_link)
    with pytest.raises(GraphError) as raised:
        list(client.iterate("/users", operation="list users"))
    message = str(raised.value)
    assert "refused to follow %s" % next_link in message and why in message, message
    assert "set graph_endpoint" in message and raised.value.code == "ForeignLink"
    assert [str(r.url) for r in seen] == [ENDPOINT + "/v1.0/users"], "only the first page was requested"
    assert token.calls == 1, "no token was taken for the foreign link"


@pytest.mark.parametrize("next_link", [
    ENDPOINT + "/v1.0/users?$skiptoken=abc",
    "HTTPS://Graph.Test:443/v1.0/users?$skiptoken=abc",  # the same origin, spelled otherwise
])
def test_a_next_link_on_the_endpoint_is_followed(next_link):
    client, seen, token = client_paging_to(next_link)
    assert [u["id"] for u in client.iterate("/users")] == ["1", "2"]
    assert len(seen) == 2 and seen[1].headers["Authorization"] == "Bearer tok"


def test_a_next_link_inside_a_batch_answer_is_held_to_the_same_rule():
    client, seen, token = client_paging_to("https://attacker.example/v1.0/users?$skiptoken=abc")
    with pytest.raises(GraphError) as raised:
        entra_directory._collect_each(client, [("list users", {"method": "GET", "url": "/users"})])
    assert "refused to follow https://attacker.example/" in str(raised.value)
    assert [r.url.host for r in seen] == ["graph.test"]


def test_an_absolute_url_in_a_batch_item_is_refused_before_any_envelope():
    client, seen, token = client_paging_to(ENDPOINT + "/v1.0/users")
    with pytest.raises(GraphError) as raised:
        client.batch([{"method": "GET", "url": "/users"}, {"method": "GET", "url": "https://attacker.example/x"}])
    assert "a $batch item needs a URL relative to /v1.0, got https://attacker.example/x" in str(raised.value)
    assert seen == [] and token.calls == 0


def test_a_redirect_is_not_followed_with_the_token():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://attacker.example/v1.0/users"})

    client = GraphClient(ENDPOINT, Token(), transport=httpx.MockTransport(handler))
    client.get("/users")  # httpx follows no redirect unless asked (follow_redirects), and this client never asks
    assert [r.url.host for r in seen] == ["graph.test"], "the Location was not followed"
