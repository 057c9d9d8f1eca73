#!/usr/bin/env bash
# Security review: bandit over our code, pip-audit over every locked dependency.
#
#   bash scripts/audit.sh
#
# Exit status: 0 only when bandit reports nothing and a vulnerability service audited every
# dependency in requirements.lock and knows no vulnerability in any; 1 when bandit or the
# audit found something; 2 when the dependencies could not be audited (no service reachable,
# or a service that does not know some of them). "Could not audit" is never reported as clean:
# pip-audit itself says "No known vulnerabilities found" even when it skipped every dependency.
#
# pip-audit asks PyPI's JSON API (https://pypi.org/pypi/NAME/VERSION/json) and, failing that,
# OSV (https://api.osv.dev); AUDIT_SERVICES="osv" picks the services and their order.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/setup.sh
source scripts/setup.sh

found=0
unaudited=0
work="$(mktemp -d "${TMPDIR:-/tmp}/twinning-audit.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "audit: bandit (our code; accepted findings are marked '# nosec BXXX' next to their reason)"
if bandit -c pyproject.toml -r registry twinning bench scripts -q; then
    echo "audit: bandit: no issues"
else
    echo "audit: bandit: FOUND issues (above)" >&2
    found=1
fi

audited=""
for service in ${AUDIT_SERVICES:-pypi osv}; do
    echo "audit: pip-audit of requirements.lock against the $service vulnerability service"
    # --require-hashes lets pip-audit read the lock file as it is, without pip resolving it.
    status=0
    pip-audit -r requirements.lock --require-hashes --disable-pip \
        --vulnerability-service "$service" --progress-spinner off \
        --format json --output "$work/$service.json" 2>"$work/$service.log" || status=$?
    # pip-audit exits 1 both for vulnerabilities and for its own failures; read its report.
    verdict=0
    python - "$work/$service.json" "$service" <<'PY' || verdict=$?
import json
import sys
from pathlib import Path

report, service = Path(sys.argv[1]), sys.argv[2]
if not report.exists() or not report.read_text().strip():
    print(f"audit: {service}: NOT AUDITED: the service did not answer (no report)")
    sys.exit(2)
dependencies = json.loads(report.read_text())["dependencies"]
skipped = [d for d in dependencies if "skip_reason" in d]
vulnerable = [d for d in dependencies if d.get("vulns")]
audited = len(dependencies) - len(skipped)
for d in vulnerable:
    for v in d["vulns"]:
        fixes = ", ".join(v.get("fix_versions") or []) or "none yet"
        print(f"audit: {service}: VULNERABLE {d['name']} {d['version']}: {v['id']} "
              f"(fixed in {fixes}) {v.get('description', '')[:160]}")
print(f"audit: {service}: {audited} of {len(dependencies)} dependencies audited, "
      f"{len(vulnerable)} vulnerable, {len(skipped)} NOT audited")
for d in skipped[:5]:
    print(f"audit: {service}:   {d['skip_reason']}")
if len(skipped) > 5:
    print(f"audit: {service}:   ... and {len(skipped) - 5} more")
if vulnerable:
    sys.exit(1)
sys.exit(2 if skipped or not dependencies else 0)
PY
    if [[ $verdict -eq 2 && ! -s "$work/$service.json" ]]; then
        # No report at all: say why (a name that does not resolve, a refused connection, ...).
        reason="$(grep -E -o '(Failed to resolve|Connection refused|timed out|Name or service not known|[A-Za-z]+Error: [^(]{0,120})' \
            "$work/$service.log" | head -n 1 || true)"
        echo "audit: $service: pip-audit exited $status: ${reason:-see its output below}" >&2
        [[ -n "$reason" ]] || tail -n 5 "$work/$service.log" >&2
    fi
    if [[ $verdict -eq 1 ]]; then
        found=1
        audited="$service"
        break
    elif [[ $verdict -eq 0 ]]; then
        audited="$service"
        break
    fi
done

if [[ -z "$audited" ]]; then
    unaudited=1
    echo "audit: dependencies NOT AUDITED: no vulnerability service (${AUDIT_SERVICES:-pypi osv}) audited every locked dependency" >&2
fi

if [[ $found -ne 0 ]]; then
    echo "audit: FAILED: findings above" >&2
    exit 1
elif [[ $unaudited -ne 0 ]]; then
    echo "audit: INCOMPLETE: the code is clean, the dependencies could not be audited" >&2
    exit 2
fi
echo "audit: OK: bandit clean; every locked dependency audited by $audited, no known vulnerabilities"
