"""One cloud-user model (issue 27): the hard-match rules' facts of a Graph user are the same
whether read straight from Graph or through the engine model's CloudObject."""

from ansible_collections.syncfix.entra.plugins.module_utils._graph.cloud_users import model_roles
from ansible_collections.syncfix.entra.plugins.module_utils._sync.prediction import cloud_object_of
from ansible_collections.syncfix.entra.plugins.module_utils._rules.hard_match import UserFacts, role_labels
from ansible_collections.syncfix.entra.plugins.module_utils._sync.prediction import user_facts

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
CUSTOM = "aaaaaaaa-0000-0000-0000-000000000001"


def same(left, right):
    """The same facts, the roles as people read them (a role whose name is unknown is its id)."""
    def facts(user):
        return dict((k, v) for k, v in vars(user).items() if k != "role_names"), role_labels(user)
    return facts(left) == facts(right)


def test_facts_through_the_model_are_the_facts_from_graph():
    graph = {"id": "u1", "userPrincipalName": "vp@Fed.contoso.com", "onPremisesImmutableId": "x",
             "onPremisesSyncEnabled": False, "onPremisesObjectIdentifier": "guid"}
    holdings = {"active": [GLOBAL_ADMIN], "eligible": [CUSTOM]}
    names = {GLOBAL_ADMIN.upper(): "Global Administrator"}
    cloud = cloud_object_of(graph, roles=model_roles(holdings, names))
    expected = UserFacts(graph, [GLOBAL_ADMIN, CUSTOM], ["fed.contoso.com"], role_names=names)
    assert same(user_facts(cloud, ["fed.contoso.com"]), expected)


def test_an_unknown_object_identifier_stays_unknown_and_a_upn_falls_back_to_the_id():
    graph = {"id": "u2"}
    facts = user_facts(cloud_object_of(graph), ())
    assert same(facts, UserFacts(graph))
    assert facts.object_identifier_known is False and facts.upn == "u2"
