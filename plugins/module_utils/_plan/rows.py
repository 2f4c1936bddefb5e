# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""link_plan's result: declared links, resolved, planned by ``_plan.planner``, shaped as rows,
phases of module items and counts.  Pure code.  Internal to this collection: not a public API."""

from ansible_collections.syncfix.entra.plugins.module_utils._plan import planner
from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync

LINK_ITEM = dict(
    ad=dict(type="str", required=True),
    cloud=dict(type="str"),
    state=dict(type="str", default="linked", choices=["linked", "unlinked"]),
    method=dict(type="str", default="auto", choices=list(planner.METHODS)),
    allow_purge=dict(type="bool"),
    allow_data_loss=dict(type="bool"),
    federated_upn_workaround=dict(type="bool"),
    force=dict(type="bool"),
    allow_role_holder=dict(type="bool"),
    proposal=dict(type="dict", options=dict(
        confidence=dict(type="str", choices=["high", "medium", "low"]),
        evidence=dict(type="list", elements="str"),
        confirmed=dict(type="bool", default=False),
    )),
)
STATES = ("linked", "pending", "conflict", "duplicate", "blocked", "unlinked")
RETURN_LINKS = ("all", "changes", "none")


def ad_facts(ad_user):
    if ad_user is None:
        return None
    return {"dn": ad_user.dn, "object_guid": ad_user.object_guid, "consistency_guid": ad_user.consistency_guid,
            "anchor": ad_user.anchor, "sam": ad_user.sam, "upn": ad_user.upn, "primary_smtp": ad_user.primary_smtp,
            "admin_description": ad_user.admin_description,
            "in_scope": ad_user.in_scope_ou and not sync.excluded_by_admin_description(ad_user)}


def cloud_facts(cloud):
    if cloud is None:
        return None
    identifier = "unknown" if cloud.object_identifier is sync.UNKNOWN else cloud.object_identifier
    return {"id": cloud.id, "upn": cloud.upn, "immutable_id": cloud.immutable_id, "synced": cloud.sync_enabled,
            "deleted": cloud.deleted, "mailbox": cloud.mailbox, "primary_smtp": cloud.primary_smtp,
            "object_identifier": identifier,
            "roles": ["%s (%s)" % (r["name"], r["assignment"]) for r in cloud.roles]}


def prediction_facts(prediction, world):
    if prediction is None:
        return None
    facts = prediction.to_dict()
    facts["quarantined"] = [list(q) for q in facts.get("quarantined") or []]
    facts.pop("exported", None)
    target = world.get(prediction.target) if prediction.target else None
    facts["target_name"] = target.name if target is not None else None
    return facts


def _unresolved(name, what, selector, why, ad_user, blocker=None):
    blocker = blocker or planner.Blocker("unknown-%s" % what, "%s %s: %s" % (what.replace("-", " "), selector, why),
                                         "correct the link's selector", "syncfix.entra (the declaration)")
    return {"name": name, "ad": ad_facts(ad_user), "cloud": None, "state": "blocked", "method": "none",
            "actions": [], "blockers": [blocker.to_dict()], "current": None, "predicted": None, "warnings": []}


def _opt(link, params, name):
    """A link's own opt-in, else the run-wide default (allow_purge, allow_data_loss,
    federated_upn_workaround only: they reach destructive methods, which need a declared cloud
    user anyway)."""
    return link[name] if link.get(name) is not None else params.get(name)


def plan_rows(links, params, ad_users, ad_problems, cloud, detailed=None):
    """The link_plan result (without ``msg`` and ``report``).  ``detailed(row)`` says which rows
    carry both users' facts and the predictions (left out, all): the others keep what the phases,
    counts and blockers are made of - at 10,000 links the facts are tens of megabytes."""
    world = cloud.world
    planned, rows = [], [None] * len(links)
    for index, link in enumerate(links):
        ad_user = ad_users.get(link["ad"])
        if ad_user is None:
            rows[index] = _unresolved(link["ad"], "ad-user", link["ad"], ad_problems.get(link["ad"], "not found"), None)
            continue
        refused = getattr(cloud, "refused", {}).get(link["cloud"]) if link.get("cloud") else None
        if refused is not None:
            rows[index] = _unresolved(link["ad"], "cloud-user", link["cloud"], None, ad_user,
                                      planner.Blocker(**refused))
            continue
        if link.get("cloud") and link["cloud"] not in cloud.found:
            rows[index] = _unresolved(link["ad"], "cloud-user", link["cloud"], cloud.problems.get(link["cloud"], "not found"),
                                      ad_user)
            continue
        planned.append((index, planner.Link(
            ad_user, cloud.found.get(link["cloud"]) if link.get("cloud") else None, state=link["state"],
            method=link["method"], allow_purge=_opt(link, params, "allow_purge"),
            allow_data_loss=_opt(link, params, "allow_data_loss"),
            federated_upn_workaround=_opt(link, params, "federated_upn_workaround"), name=link["ad"],
            force=bool(link.get("force")), allow_role_holder=bool(link.get("allow_role_holder")),
            proposal=link.get("proposal"))))
    accept = bool(params.get("accept_proposals"))
    for (index, link), plan in zip(planned, planner.plan_links([link for index, link in planned], world, accept)):
        row = {"name": link.name, "state": plan.state, "method": plan.method, "actions": plan.actions,
               "blockers": [b.to_dict() for b in plan.blockers], "warnings": plan.warnings}
        if detailed is None or detailed(row):
            row.update(ad=ad_facts(link.ad_user), cloud=cloud_facts(world.get(plan.cloud) if plan.cloud else None),
                       current=prediction_facts(plan.current, world), predicted=prediction_facts(plan.predicted, world))
        rows[index] = row
    return shape(rows, params["skip_blocked"])


def shape(rows, skip_blocked):
    counts = dict((state, 0) for state in STATES)
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    counts["links"] = len(rows)
    blocked = [{"name": r["name"], "blockers": r["blockers"],
                "summary": "%s: %s" % (r["name"], "; ".join("%s: %s" % (b["rule"], b["reason"]) for b in r["blockers"]))}
               for r in rows if r["state"] == "blocked"]
    phases = dict((phase, []) for phase in planner.PHASES)
    if skip_blocked or not blocked:
        for row in rows:
            if row["state"] == "blocked":
                continue
            for made in row["actions"]:
                if made["item"] not in phases[made["phase"]] or made["module"].endswith("adsync_cycle"):
                    phases[made["phase"]].append(made["item"])
    # A cycle serves every link of its phase: one task, not one per link.
    for phase in ("cycle_out", "cycle"):
        phases[phase] = phases[phase][:1]
    counts["actions"] = sum(len(items) for items in phases.values())
    # No phase_options (issue 26): each item carries its own link's opt-ins, so nothing one link
    # opted into reaches another link's items in the same bulk task.
    return {"links": rows, "phases": phases, "counts": counts, "blocked": blocked}


def purges(result):
    """The purge items of the links that are not blocked (what a run with skip_blocked applies)."""
    return [made["item"] for row in result["links"] if row["state"] != "blocked" for made in row["actions"]
            if made["phase"] == "purge"]


def returned(row, which):
    """Whether a result carries ``row``: ``all``; ``changes``, a row with an action or a blocker; ``none``."""
    return which == "all" or which == "changes" and bool(row["actions"] or row["blockers"])


def returned_rows(rows, which):
    """The rows a result carries (``returned``)."""
    return rows if which == "all" else [row for row in rows if returned(row, which)]
