"""Fixed facts from Microsoft's reference pages: user properties, default `$select`, role
template ids, SKU ids, and the application permissions each operation accepts."""

from __future__ import annotations

import uuid

# "user resource type" (v1.0): the properties the emulator knows, with the value a user
# without one shows. Collections default to [], everything else to null.
USER_PROPERTIES = {
    "id": None, "accountEnabled": True, "assignedLicenses": [], "businessPhones": [], "city": None,
    "companyName": None, "country": None, "createdDateTime": None, "deletedDateTime": None,
    "department": None, "displayName": None, "employeeId": None, "givenName": None, "jobTitle": None,
    "mail": None, "mailNickname": None, "mobilePhone": None, "officeLocation": None,
    "onPremisesDistinguishedName": None, "onPremisesDomainName": None, "onPremisesImmutableId": None,
    "onPremisesLastSyncDateTime": None, "onPremisesObjectIdentifier": None,
    "onPremisesProvisioningErrors": [], "onPremisesSamAccountName": None,
    "onPremisesSecurityIdentifier": None, "onPremisesSyncEnabled": None,
    "onPremisesUserPrincipalName": None, "otherMails": [], "passwordProfile": None,
    "preferredLanguage": None, "proxyAddresses": [], "surname": None, "usageLocation": None,
    "userPrincipalName": None, "userType": "Member",
}

# "Get user": without $select, v1.0 returns only this default set.
DEFAULT_USER_SELECT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                       "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")

# "Update user": writable through Graph. proxyAddresses is read-only (Exchange maintains it).
USER_WRITABLE = {"accountEnabled", "businessPhones", "city", "companyName", "country", "department",
                 "displayName", "employeeId", "givenName", "jobTitle", "mail", "mailNickname", "mobilePhone",
                 "officeLocation", "onPremisesImmutableId", "otherMails", "passwordProfile",
                 "preferredLanguage", "surname", "usageLocation", "userPrincipalName"}

# Written in the cloud even for users synced from on-premises.
CLOUD_MASTERED = {"usageLocation", "passwordProfile", "otherMails", "preferredLanguage"}

NOT_NULLABLE = {"accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"}

GROUP_DEFAULT_SELECT = ("id", "displayName", "description", "mail", "mailEnabled", "mailNickname",
                        "securityEnabled", "proxyAddresses", "groupTypes", "onPremisesSyncEnabled",
                        "createdDateTime")
CONTACT_DEFAULT_SELECT = ("id", "displayName", "givenName", "surname", "mail", "mailNickname",
                          "proxyAddresses", "companyName", "onPremisesSyncEnabled")

# "Microsoft Entra built-in roles": template ids.
ROLE_TEMPLATES = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
}

# "Microsoft Entra built-in roles": the roles carrying the PRIVILEGED label. Exchange
# Administrator does not; the 2026 hard-match hardening blocks only privileged roles.
PRIVILEGED_ROLES = frozenset({"Global Administrator", "User Administrator", "Privileged Role Administrator",
                              "Helpdesk Administrator", "Global Reader"})

# "Product names and service plan identifiers for licensing".
SKUS = {
    "ENTERPRISEPACK": "6fd2c87f-b296-42f0-b197-1e91e994b900",
    "SPE_E3": "05e9a617-0261-4cee-bb44-138d3ef5d965",
    "SPE_E5": "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
    "EXCHANGESTANDARD": "4b9405b0-7788-4568-add1-99614e613b69",
    "AAD_PREMIUM": "078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
}


def sku_id(part_number: str) -> str:
    return SKUS.get(part_number) or str(uuid.uuid5(uuid.NAMESPACE_URL, "sku/" + part_number))


# Application permissions per operation, from each operation's "Permissions" table
# (least privileged first). A token needs one of them in its `roles` claim.
USER_READ = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
USER_WRITE = {"User.ReadWrite.All", "Directory.ReadWrite.All"}
USER_DELETE = {"User.ReadWrite.All"}
DELETED_READ = USER_READ | {"User.DeleteRestore.All"}
DELETED_WRITE = {"User.DeleteRestore.All"}
LICENSE_READ = {"LicenseAssignment.Read.All"} | USER_READ
MEMBER_OF_READ = {"GroupMember.Read.All", "Group.Read.All"} | USER_READ
ROLE_READ = {"RoleManagement.Read.Directory", "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory",
             "Directory.Read.All", "Directory.ReadWrite.All"}
# "Get unifiedRoleDefinition" / "List unifiedRoleDefinitions", directory provider, application.
ROLE_DEFINITION_READ = {"RoleManagement.Read.Directory", "Directory.Read.All", "RoleManagement.ReadWrite.Directory",
                        "Directory.ReadWrite.All"}
ELIGIBILITY_READ = {"RoleEligibilitySchedule.Read.Directory", "RoleEligibilitySchedule.ReadWrite.Directory",
                    "RoleManagement.Read.Directory", "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory"}
GROUP_READ = {"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "Directory.Read.All",
              "Directory.ReadWrite.All"}
# "List group members": GroupMember.Read.All least privileged; Directory.Read.All, Group.Read.All,
# Group.ReadWrite.All, GroupMember.ReadWrite.All higher.  User.Read.All is not among them.
GROUP_MEMBER_READ = {"GroupMember.Read.All", "Directory.Read.All", "Group.Read.All", "Group.ReadWrite.All",
                     "GroupMember.ReadWrite.All", "Directory.ReadWrite.All"}
CONTACT_READ = {"OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}
DOMAIN_READ = {"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
SYNC_FEATURES_READ = {"OnPremDirectorySynchronization.Read.All", "OnPremDirectorySynchronization.ReadWrite.All"}
SYNC_FEATURES_WRITE = {"OnPremDirectorySynchronization.ReadWrite.All"}
JOBS_READ = {"Synchronization.Read.All", "Synchronization.ReadWrite.All", "Application.ReadWrite.OwnedBy"}
JOBS_WRITE = {"Synchronization.ReadWrite.All", "Application.ReadWrite.OwnedBy"}

KNOWN_PERMISSIONS = (USER_READ | USER_WRITE | DELETED_READ | DELETED_WRITE | LICENSE_READ | MEMBER_OF_READ
                     | ROLE_READ | ROLE_DEFINITION_READ | ELIGIBILITY_READ | GROUP_READ | GROUP_MEMBER_READ
                     | CONTACT_READ | DOMAIN_READ | SYNC_FEATURES_READ | SYNC_FEATURES_WRITE | JOBS_READ | JOBS_WRITE)

# The lab's own app holds everything the collection may need.
LAB_APP_PERMISSIONS = sorted({"User.ReadWrite.All", "User.DeleteRestore.All", "Directory.Read.All",
                              "RoleManagement.Read.Directory", "RoleEligibilitySchedule.Read.Directory",
                              "OnPremDirectorySynchronization.ReadWrite.All", "Synchronization.ReadWrite.All",
                              "Group.Read.All", "OrgContact.Read.All", "Domain.Read.All",
                              "LicenseAssignment.Read.All"})
