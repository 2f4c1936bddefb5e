"""The app's credential goes only to a Microsoft authority unless allow_custom_authority is set
(issue 26, finding 9): the lab's emulator is such a custom authority, so the same task fails
before the token request without the opt-in and signs in with it, as a task or from the
environment AWX sets."""

import entra_tenant

OPT_IN = "SYNCFIX_ALLOW_CUSTOM_AUTHORITY"


def info_task(auth, **extra):
    return {"syncfix.entra.entra_user_info": dict(auth, users=["vp@contoso.com"], **extra)}


def test_the_lab_authority_is_refused_without_the_opt_in_and_no_token_is_asked(graph_lab, playbook):
    graph_lab.load(entra_tenant.tenant())
    auth = {k: v for k, v in graph_lab.auth.items() if k != "allow_custom_authority"}
    rc, (refused, environment_blank) = playbook([info_task(auth), info_task(auth, allow_custom_authority=False)],
                                                env={OPT_IN: ""})
    for result in (refused, environment_blank):
        assert result["failed"] is True, result
        assert "authority_host %s is not a Microsoft sign-in authority" % graph_lab.facts["authority_host"] in result["msg"]
        assert "allow_custom_authority=true" in result["msg"] and "https://login.microsoftonline.us" in result["msg"]
        assert graph_lab.facts["client_secret"] not in result["msg"]
    assert graph_lab.requests() == [], "not even the token request reached the emulator"


def test_the_opt_in_as_an_option_or_from_the_environment_signs_in(graph_lab, playbook):
    graph_lab.load(entra_tenant.tenant())
    auth = {k: v for k, v in graph_lab.auth.items() if k != "allow_custom_authority"}
    rc, (as_option,) = playbook([info_task(auth, allow_custom_authority=True)], env={OPT_IN: ""})
    rc, (from_env,) = playbook([info_task(auth)], env={OPT_IN: "true"})
    for result in (as_option, from_env):
        assert not result.get("failed"), result.get("msg")
        assert result["users"][0]["found"] is True, result["users"]
