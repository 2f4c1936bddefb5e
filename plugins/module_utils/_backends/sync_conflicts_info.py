# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One sync-conflict scan, end to end: the AD side streamed through ``_scan.ad`` from paged
searches, then, when a tenant is given, the cloud side through ``_scan.cloud`` from bulk Graph
lists, checked against what the AD side will bring.  Internal to this collection: not a
public API.

Findings come out as a generator, so the reports are written while the directories are read
and no run holds every object.  ``Tally`` keeps what the result needs: counts and the first
findings.  It knows nothing of Ansible options.
"""

import time

from ansible_collections.syncfix.entra.plugins.module_utils._scan import ad as _scan_ad
from ansible_collections.syncfix.entra.plugins.module_utils._scan import cloud as _scan_cloud
from ansible_collections.syncfix.entra.plugins.module_utils._graph import scan_reads as _scan_graph_reads
from ansible_collections.syncfix.entra.plugins.module_utils._scan.findings import SEVERITIES


class ScanOptions:
    """What the run asks for, beyond the connections."""

    def __init__(self, search_bases=(), exclusions=None, error_filter=None, verified_domains=None):
        self.search_bases = list(search_bases)
        self.exclusions = _scan_ad.DEFAULT_EXCLUSIONS if exclusions is None else exclusions
        self.error_filter = error_filter
        self.verified_domains = verified_domains


class ScanFacts:
    """What the scan learnt besides its findings, filled in as it goes."""

    def __init__(self):
        self.ad_counts = {}
        self.cloud_counts = {}
        self.domains = None
        self.features = None
        self.warnings = []


def scan(ldap, graph, options, facts):
    """Every finding, AD side first.  ``ldap`` is a bound DirectoryConnection or None (AD not
    scanned); ``graph`` a GraphClient or None (the cloud side not scanned)."""
    tenant = _scan_graph_reads.read_tenant(graph) if graph is not None else None
    domains = options.verified_domains
    if tenant is not None:
        facts.domains, facts.features = tenant.domains, tenant.features
        if domains is None:
            domains = tenant.verified_domains
    ad_scan = None
    if ldap is not None:
        ad_scan = _scan_ad.ADScan(verified_domains=domains, exclusions=options.exclusions)
        for base in options.search_bases or [None]:
            for entry in ldap.search(_scan_ad.SEARCH_FILTER, _scan_ad.ATTRIBUTES, base=base):
                yield from ad_scan.add(entry)
        yield from ad_scan.finish()
        facts.ad_counts = dict(ad_scan.counts)
    if tenant is not None:
        cloud_scan = _scan_cloud.CloudScan(ad_index=ad_scan.index() if ad_scan else None, domains=tenant.domains,
                                           features=tenant.features, error_filter=options.error_filter,
                                           now=time.time())
        yield from tenant.feed(cloud_scan)
        yield from cloud_scan.finish()
        facts.cloud_counts = dict(cloud_scan.counts)
        facts.warnings.extend(tenant.warnings)


class Tally:
    """Counts by rule and severity, the first ``keep`` findings, and the ``remediation_links``
    entries the findings propose (each once, by AD object and cloud object id; each a
    ``_scan.proposals`` proposal, never confirmed), while the findings stream past."""

    def __init__(self, keep):
        self.keep = keep
        self.kept = []
        self.total = 0
        self.by_rule = {}
        self.by_severity = dict((severity, 0) for severity in SEVERITIES)
        self.links = []
        self._linked = set()

    def count(self, findings):
        for found in findings:
            self.total += 1
            self.by_rule[found["rule"]] = self.by_rule.get(found["rule"], 0) + 1
            self.by_severity[found["severity"]] += 1
            if len(self.kept) < self.keep:
                self.kept.append(found)
            link = found.get("link")
            if link:
                key = (str(link.get("ad")).lower(), str(link.get("cloud")).lower())
                if key not in self._linked:
                    self._linked.add(key)
                    self.links.append(link)
            yield found

    def counts(self):
        return dict(findings=self.total, by_severity=self.by_severity, by_rule=dict(sorted(self.by_rule.items())))
