"""msgraph-sdk (``GraphServiceClient``) against the emulator: the official client must work
unmodified, so the emulator cannot drift into accepting only what our thin client sends.

What the SDK needs to reach the lab (DESIGN.md "Graph", LAB-NOTES.md "what the clients do"):
an ``httpx.AsyncClient`` that trusts the lab CA, wrapped in the Graph middleware by
``GraphClientFactory``, a ``GraphRequestAdapter`` over it whose ``base_url`` is
``{graph_endpoint}/v1.0``, and an azure-identity credential pointed at the lab authority.
No pytest-asyncio here: each test runs its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
import uuid
import warnings

import httpx
import pytest
from azure.identity import ClientSecretCredential

# The generated builders warn, on import, about their own deprecated configuration classes.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from kiota_abstractions.api_error import APIError
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.user import User
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder
    from msgraph.graph_request_adapter import options as SDK_MIDDLEWARE_OPTIONS
    from msgraph_core import GraphClientFactory, PageIterator

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "aaaaaaaa-0000-4000-8000-000000000002"       # cloud-only, onPremisesImmutableId Ym9iLWFuY2hvcg==
CAROL = "aaaaaaaa-0000-4000-8000-000000000003"     # synced
GONE = "aaaaaaaa-0000-4000-8000-000000000005"      # soft-deleted
ERIN = "aaaaaaaa-0000-4000-8000-000000000006"      # soft-deleted
# ... and again when a request is built.
pytestmark = [pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning")]

ACTIVE_UPNS = {"alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@fed.contoso.com"}


def run_sdk(lab, scenario):
    """Run ``await scenario(client)`` with a GraphServiceClient aimed at the emulator."""

    async def main():
        facts = lab.facts
        credential = ClientSecretCredential(facts["tenant_id"], facts["client_id"], facts["client_secret"],
                                            authority=facts["authority_host"], disable_instance_discovery=True,
                                            connection_verify=facts["ca_path"])
        # The SDK's own default client trusts only certifi's roots; ours must trust the lab CA,
        # and GraphClientFactory puts the SDK's middleware (retry, redirect, telemetry) around it.
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=facts["ca_path"]), timeout=30),
            options=SDK_MIDDLEWARE_OPTIONS)
        adapter = GraphRequestAdapter(AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE]), http)
        # Set before GraphServiceClient is built, else it installs https://graph.microsoft.com/v1.0.
        adapter.base_url = facts["graph_endpoint"] + "/v1.0"
        client = GraphServiceClient(request_adapter=adapter)
        try:
            return await scenario(client)
        finally:
            await http.aclose()
            credential.close()

    return asyncio.run(main())


def requests_log(lab, **match) -> list[dict]:
    return [e for e in lab.lab("GET", "/requests").json()["value"]
            if not e["path"].endswith("/token") and all(e.get(k) == v for k, v in match.items())]


def users_query(**parameters) -> RequestConfiguration:
    return RequestConfiguration(query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(**parameters))


def load_extra_users(lab, count: int) -> list[dict]:
    extra = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "sdk-page-%d" % n)), "userPrincipalName": "page%02d@contoso.com" % n,
              "displayName": "Page %02d" % n} for n in range(count)]
    state = lab.lab("GET", "/state").json()
    state["users"] += extra
    answer = lab.lab("PUT", "/state", json=state)
    assert answer.status_code == 200, answer.text
    return extra


# --- reads ----------------------------------------------------------------------------------

def test_list_users(lab):
    page = run_sdk(lab, lambda client: client.users.get())
    assert {u.user_principal_name for u in page.value} == ACTIVE_UPNS
    assert {u.id for u in page.value} == {ALICE, BOB, CAROL, "aaaaaaaa-0000-4000-8000-000000000004"}
    assert page.odata_next_link is None
    alice = next(u for u in page.value if u.id == ALICE)
    assert alice.mail == "alice@contoso.com" and alice.display_name == "Alice"


def test_get_by_id_with_select(lab):
    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["id", "onPremisesImmutableId"])
    user = run_sdk(lab, lambda client: client.users.by_user_id(BOB).get(
        request_configuration=RequestConfiguration(query_parameters=query)))
    assert user.id == BOB
    assert user.on_premises_immutable_id == "Ym9iLWFuY2hvcg=="
    assert user.display_name is None, "only the selected properties come back"
    (entry,) = requests_log(lab, method="GET")
    assert entry["query"] == "%24select=id%2ConPremisesImmutableId"


def test_get_by_upn_with_select(lab):
    # by_user_id escapes '@' as %40 in the path; Graph resolves either form to the user.
    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["id", "onPremisesImmutableId"])
    user = run_sdk(lab, lambda client: client.users.by_user_id("bob@contoso.com").get(
        request_configuration=RequestConfiguration(query_parameters=query)))
    assert user.id == BOB
    assert user.on_premises_immutable_id == "Ym9iLWFuY2hvcg=="


def test_filter_by_upn(lab):
    page = run_sdk(lab, lambda client: client.users.get(
        request_configuration=users_query(filter="userPrincipalName eq 'carol@contoso.com'",
                                          select=["id", "onPremisesSyncEnabled"])))
    assert [(u.id, u.on_premises_sync_enabled) for u in page.value] == [(CAROL, True)]


def test_advanced_query_needs_consistency_level_and_returns_count(lab):
    def config(eventual: bool):
        configuration = users_query(filter="onPremisesImmutableId eq 'Ym9iLWFuY2hvcg=='", count=True,
                                    select=["id", "userPrincipalName"])
        if eventual:
            configuration.headers.add("ConsistencyLevel", "eventual")
        return configuration

    page = run_sdk(lab, lambda client: client.users.get(request_configuration=config(True)))
    assert page.odata_count == 1
    assert [(u.id, u.user_principal_name) for u in page.value] == [(BOB, "bob@contoso.com")]

    with pytest.raises(ODataError) as raised:
        run_sdk(lab, lambda client: client.users.get(request_configuration=config(False)))
    assert raised.value.response_status_code == 400


def test_page_iterator_visits_every_user_once(lab):
    extra = load_extra_users(lab, 23)  # 27 active users: pages of 5, 5, 5, 5, 5, 2

    async def scenario(client):
        seen = []
        first = await client.users.get(request_configuration=users_query(top=5, select=["id", "userPrincipalName"]))
        assert len(first.value) == 5 and first.odata_next_link
        await PageIterator(first, client.request_adapter).iterate(lambda user: seen.append(user.id) or True)
        return seen

    seen = run_sdk(lab, scenario)
    assert len(seen) == len(set(seen)) == 27
    assert set(seen) == {u["id"] for u in extra} | {ALICE, BOB, CAROL, "aaaaaaaa-0000-4000-8000-000000000004"}
    pages = requests_log(lab, method="GET", path="/users")
    assert len(pages) == 6 and {e["status"] for e in pages} == {200}


def test_page_iterator_drops_consistency_level_unless_set_again(lab):
    # DESIGN.md: PageIterator does not carry ConsistencyLevel to later pages; the nextLink keeps
    # $count=true, so the emulator must refuse page 2 exactly as Graph does.
    load_extra_users(lab, 8)

    def first_page(client):
        configuration = users_query(top=5, count=True, filter="startswith(userPrincipalName,'page')",
                                    select=["id"])
        configuration.headers.add("ConsistencyLevel", "eventual")
        return client.users.get(request_configuration=configuration)

    async def naive(client):
        iterator = PageIterator(await first_page(client), client.request_adapter)
        await iterator.iterate(lambda user: True)

    # PageIterator has no error mapping of its own, so the 400 arrives as a bare APIError.
    with pytest.raises(APIError) as raised:
        run_sdk(lab, naive)
    assert raised.value.response_status_code == 400
    second = requests_log(lab, method="GET", path="/users")[1]
    assert second["status"] == 400 and "%24count=true" in second["query"]

    async def careful(client):
        seen = []
        iterator = PageIterator(await first_page(client), client.request_adapter)
        # set_headers() passes the dict as keywords to HeadersCollection.add_all and fails
        # (msgraph-core 1.5.2); the collection itself takes the header.
        iterator.headers.add("ConsistencyLevel", "eventual")
        await iterator.iterate(lambda user: seen.append(user.id) or True)
        return seen

    assert len(set(run_sdk(lab, careful))) == 8


def test_unknown_user_is_odata_error_resource_not_found(lab):
    with pytest.raises(ODataError) as raised:
        run_sdk(lab, lambda client: client.users.by_user_id("00000000-0000-4000-8000-0000000000ff").get())
    assert raised.value.response_status_code == 404
    assert raised.value.error.code == "Request_ResourceNotFound"
    assert "00000000-0000-4000-8000-0000000000ff" in raised.value.error.message


def test_retry_handler_honours_retry_after(lab):
    # LAB-NOTES: the SDK's retry handler sleeps Retry-After and retries; the caller sees success.
    lab.lab("POST", "/faults", json={"status": 429, "count": 1, "method": "GET", "path": "^/users/", "retry_after": 1})
    started = time.monotonic()
    user = run_sdk(lab, lambda client: client.users.by_user_id(ALICE).get())
    assert user.id == ALICE
    assert time.monotonic() - started >= 1.0
    attempts = requests_log(lab, method="GET", path="/users/" + ALICE)
    assert [e["status"] for e in attempts] == [429, 200]
    assert attempts[1]["time"] - attempts[0]["time"] >= 0.9


# --- writes ---------------------------------------------------------------------------------

def get_immutable_id(client, key):
    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["id", "onPremisesImmutableId"])
    return client.users.by_user_id(key).get(request_configuration=RequestConfiguration(query_parameters=query))


def test_patch_with_explicit_null_clears_immutable_id(lab):
    async def scenario(client):
        # The typed property set to None is dropped from the body: nothing changes.
        await client.users.by_user_id(BOB).patch(User(on_premises_immutable_id=None))
        unchanged = (await get_immutable_id(client, BOB)).on_premises_immutable_id
        # additional_data is written as is, so JSON null reaches Graph.
        await client.users.by_user_id(BOB).patch(User(additional_data={"onPremisesImmutableId": None}))
        cleared = (await get_immutable_id(client, BOB)).on_premises_immutable_id
        return unchanged, cleared

    unchanged, cleared = run_sdk(lab, scenario)
    assert unchanged == "Ym9iLWFuY2hvcg=="
    assert cleared is None
    bodies = [e["body"] for e in requests_log(lab, method="PATCH")]
    # The SDK adds @odata.type; the emulator ignores @odata.* as Graph does.
    assert bodies == [{"@odata.type": "#microsoft.graph.user"},
                      {"@odata.type": "#microsoft.graph.user", "onPremisesImmutableId": None}]
    assert lab.lab("GET", "/state").json()["users"][1].get("onPremisesImmutableId") is None


def test_patch_sets_immutable_id(lab):
    anchor = base64.b64encode(uuid.UUID("0f3c2a1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b").bytes_le).decode()

    async def scenario(client):
        await client.users.by_user_id(ALICE).patch(User(on_premises_immutable_id=anchor))
        return (await get_immutable_id(client, ALICE)).on_premises_immutable_id

    assert run_sdk(lab, scenario) == anchor
    assert lab.user(ALICE)["onPremisesImmutableId"] == anchor


def test_patch_on_synced_user_is_odata_error(lab):
    with pytest.raises(ODataError) as raised:
        run_sdk(lab, lambda client: client.users.by_user_id(CAROL).patch(User(on_premises_immutable_id="bmV3")))
    assert raised.value.response_status_code == 400
    assert "on-premises mastered" in raised.value.error.message
    assert lab.user(CAROL)["onPremisesImmutableId"] == "Y2Fyb2w="


# --- recycle bin ----------------------------------------------------------------------------

def test_deleted_items_alias_path_lists_soft_deleted_users(lab):
    async def scenario(client):
        before = await client.directory.deleted_items.graph_user.get()
        await client.users.by_user_id(BOB).delete()
        after = await client.directory.deleted_items.graph_user.get()
        return before, after

    before, after = run_sdk(lab, scenario)
    assert {(u.id, type(u).__name__) for u in before.value} == {(GONE, "User"), (ERIN, "User")}
    assert {u.id for u in after.value} == {GONE, ERIN, BOB}
    assert next(u for u in after.value if u.id == BOB).deleted_date_time is not None
    # The SDK's URL for the cast is the short alias, not microsoft.graph.user.
    assert {e["path"] for e in requests_log(lab, method="GET")} == {"/directory/deletedItems/graph.user"}


def test_purge_from_deleted_items(lab):
    async def scenario(client):
        await client.directory.deleted_items.by_directory_object_id(ERIN).delete()
        return await client.directory.deleted_items.graph_user.get()

    remaining = run_sdk(lab, scenario)
    assert [u.id for u in remaining.value] == [GONE]
    assert [e["status"] for e in requests_log(lab, method="DELETE")] == [204]
    assert ERIN not in {u["id"] for u in lab.lab("GET", "/state").json()["users"]}
    with pytest.raises(ODataError) as raised:
        run_sdk(lab, lambda client: client.directory.deleted_items.by_directory_object_id(ERIN).delete())
    assert raised.value.error.code == "Request_ResourceNotFound"


# --- $batch ---------------------------------------------------------------------------------

def test_batch_of_gets(lab):
    # msgraph-core 1.5.2 imports `deprecated` for its batch classes without declaring it, so
    # requirements-dev.txt names it.
    from msgraph_core.requests.batch_request_content import BatchRequestContent

    async def scenario(client):
        content = BatchRequestContent()
        ids = {}
        for name, key in (("alice", ALICE), ("bob", BOB), ("nobody", "00000000-0000-4000-8000-0000000000ff")):
            item = client.users.by_user_id(key).to_get_request_information()
            content.add_request_information(item)
            ids[name] = list(content.requests)[-1]
        response = await client.batch.post(content)
        return ids, response

    ids, response = run_sdk(lab, scenario)
    statuses = response.get_response_status_codes()
    assert {name: statuses[i] for name, i in ids.items()} == {"alice": 200, "bob": 200, "nobody": 404}
    # DESIGN.md: the SDK drops JSON bodies of batch items (it expects base64); statuses survive.
    assert response.get_response_by_id(ids["alice"]).body is None
    items = [e for e in requests_log(lab) if e.get("batch_item")]
    assert sorted((e["path"], e["status"]) for e in items) == sorted(
        [("/users/" + ALICE, 200), ("/users/" + BOB, 200), ("/users/00000000-0000-4000-8000-0000000000ff", 404)])
