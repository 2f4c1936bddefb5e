"""The tenant the Entra module tests start from, in the emulator's tenant-state format (the
``tenant`` section of a lab scenario), and the anchors they stamp.

Anchors are computed here from the GUID the way DESIGN.md states it (Base64 of the .NET
byte order), independently of the collection's anchor codec.
"""

import base64
import datetime
import uuid


def immutable_id(guid):
    return base64.b64encode(uuid.UUID(guid).bytes_le).decode()


NEW_HIRE_GUID = "3ab39606-c642-489b-84b6-58c038d3ef39"
NEW_HIRE = immutable_id(NEW_HIRE_GUID)              # BpazOkLGm0iEtljAONPvOQ==
OTHER = immutable_id("46e23144-8377-483e-a87e-b6769db62eed")
HELD = immutable_id("0d9f3a52-0000-4000-8000-00000000a001")
HELD_BY_DELETED = immutable_id("0d9f3a52-0000-4000-8000-00000000a002")
SYNCED = immutable_id("0d9f3a52-0000-4000-8000-00000000a003")
STAMPED = immutable_id("0d9f3a52-0000-4000-8000-00000000a004")
FEDERATED_ANCHOR = immutable_id("0d9f3a52-0000-4000-8000-00000000a005")


def days_ago(days):
    """A deletion date relative to today: a fixed one would pass the 30-day purge one day."""
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def user(upn, **properties):
    return dict({"userPrincipalName": upn, "displayName": upn.split("@")[0]}, **properties)


def tenant():
    return {
        "domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com", "isDefault": True},
                    {"id": "fed.contoso.com", "authenticationType": "Federated"}],
        "users": [
            user("vp@contoso.com", mail="vp@contoso.com", mailbox=True, licenses=["SPE_E3"],
                 proxyAddresses=["SMTP:vp@contoso.com", "smtp:vp@contoso.onmicrosoft.com"]),
            user("plain@contoso.com"),
            user("stamped@contoso.com", onPremisesImmutableId=STAMPED),
            user("holder@contoso.com", onPremisesImmutableId=HELD),
            user("synced@contoso.com", onPremisesSyncEnabled=True, onPremisesImmutableId=SYNCED,
                 onPremisesProvisioningErrors=[{"category": "PropertyConflict", "propertyCausingError": "ProxyAddress",
                                                "value": "smtp:synced@contoso.com",
                                                "occurredDateTime": "2026-11-01T08:00:00Z"}]),
            user("admin@contoso.com", roles=[{"name": "Global Administrator", "assignment": "active"}]),
            user("eligible@contoso.com", roles=[{"name": "User Administrator", "assignment": "eligible"}]),
            user("objid@contoso.com", onPremisesObjectIdentifier="6c0c2b5e-1111-4111-8111-111111111111"),
            user("fed@fed.contoso.com"),
            user("gone@contoso.com", onPremisesImmutableId=HELD_BY_DELETED, mail="gone@contoso.com", mailbox=True,
                 deletedDateTime=days_ago(7)),
            user("binned@contoso.com", deletedDateTime=days_ago(6)),
        ],
        "groups": [{"displayName": "Sales", "mail": "sales@contoso.com", "members": ["vp@contoso.com"]}],
    }


def many_users(count):
    """``count`` plain cloud-only users, for bulk runs."""
    data = tenant()
    data["users"] = [user("bulk%05d@contoso.com" % n) for n in range(count)]
    data["groups"] = []
    data["size"] = "L"
    return data


def bulk_anchor(n):
    return immutable_id("5e1f0000-0000-4000-8000-%012d" % n)
