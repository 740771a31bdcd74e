"""`make audit`: pip-audit the installed dependencies and say plainly how many it could check.

Exit 1 if any installed package has a known vulnerability (each is listed with its advisory and
the versions that fix it). A package the advisory service does not know (a release newer than
its data, or a mirror that lacks it) cannot be audited: those are counted and named, so that
"no known vulnerabilities" is never said of packages nobody checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    run = subprocess.run(
        [str(BIN / "pip-audit"), "--skip-editable", "--progress-spinner", "off", "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"audit: pip-audit did not run (exit {run.returncode}):\n{run.stderr[-2000:]}")
        return 2
    # Our own package (installed editable) is not a dependency.
    packages = [p for p in report["dependencies"] if "editable" not in p.get("skip_reason", "")]
    skipped = [p for p in packages if "skip_reason" in p]
    vulnerable = [p for p in packages if p.get("vulns")]
    audited = len(packages) - len(skipped)
    for package in vulnerable:
        for vuln in package["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
            name = f"{package['name']} {package['version']}"
            print(f"VULNERABLE {name}: {vuln['id']} (fixed in {fixed})")
    print(f"audit: {audited} of {len(packages)} packages audited, {len(vulnerable)} vulnerable")
    if skipped:
        names = ", ".join(p["skip_reason"].rsplit(": ", 1)[-1] for p in skipped)
        print(f"audit: NOT AUDITED ({len(skipped)}): the advisory service does not know {names}")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
