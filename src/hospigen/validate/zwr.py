"""VistA ZWR checks: a Python syntax/semantics linter, and a GT.M load + read-back when GT.M is
installed (``mupip load`` silently accepts an unterminated string, hence the linter).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from hospigen.validate.findings import Finding, Report

NUM = r"-?(?:[1-9][0-9]*(?:\.[0-9]*[1-9])?|\.[0-9]*[1-9]|0)"
STR = r'"(?:[^"]|"")*"'
SUB = rf"(?:{NUM}|{STR})"
LINE = re.compile(rf"^\^[%A-Za-z][A-Za-z0-9]*(?:\({SUB}(?:,{SUB})*\))?=(?:{STR}|{NUM})$")
FM_DATE = re.compile(r"^[1-3][0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])(\.[0-9]{1,6})?$")
DPT_ZERO = re.compile(r'^\^DPT\(([0-9]+),0\)="(.*)"$')


def check_zwr(path: Path, report: Report) -> None:
    """Lint a ZWR file: header, line syntax, canonical numbers, duplicate nodes, ^DPT fields."""
    lines = path.read_text(encoding="ascii", errors="replace").split("\n")
    if len(lines) < 2 or not lines[1].rstrip().endswith("ZWR"):
        report.add(Finding("zwr", str(path), "line 2", "header", "line 2 must end with ZWR"))
    seen: set[str] = set()
    for n, line in enumerate(lines[2:], 3):
        if not line:
            continue
        report.checked["zwr nodes"] += 1
        if not LINE.match(line):
            report.add(Finding("zwr", str(path), f"line {n}", "syntax", line[:120]))
            continue
        key = line.split(")=", 1)[0] if ")=" in line else line.split("=", 1)[0]
        if key in seen:
            report.add(Finding("zwr", str(path), f"line {n}", "duplicate", f"{key} set twice"))
        seen.add(key)
        zero = DPT_ZERO.match(line)
        if zero:
            _check_patient(zero.group(2).replace('""', '"'), path, n, report)


def _check_patient(value: str, path: Path, n: int, report: Report) -> None:
    pieces = value.split("^")
    loc = f"line {n}"
    name = pieces[0]
    if not re.fullmatch(r"[A-Z][A-Z' -]*,[A-Z][A-Z' -]*", name) or not 3 <= len(name) <= 30:
        report.add(Finding("zwr", str(path), loc, "dpt-name", f"NAME {name!r} is not LAST,FIRST"))
    if len(pieces) < 9 or pieces[1] not in ("M", "F"):
        report.add(Finding("zwr", str(path), loc, "dpt-sex", "SEX (piece 2) must be M or F"))
    if len(pieces) < 3 or not FM_DATE.match(pieces[2]):
        report.add(Finding("zwr", str(path), loc, "dpt-dob", "DOB (piece 3) is not a FileMan date"))
    if len(pieces) < 9 or not re.fullmatch(r"[0-9]{9}P?", pieces[8]):
        report.add(Finding("zwr", str(path), loc, "dpt-ssn", "SSN (piece 9) must be 9 digits"))


def gtm_dist() -> Path | None:
    """The GT.M installation (``$gtm_dist``, ``mumps`` on PATH, or the Debian package)."""
    candidates = [os.environ.get("gtm_dist", "")]  # noqa: SIM112 - GT.M's own variable name
    found = shutil.which("mumps")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    candidates += sorted(str(p.parent) for p in Path("/usr/lib").glob("*/fis-gtm/*/mumps"))
    for c in candidates:
        if c and (Path(c) / "mumps").is_file() and (Path(c) / "mupip").is_file():
            return Path(c)
    return None


def _gtm_env(dist: Path, work: Path) -> dict[str, str]:
    return {**os.environ, "gtm_dist": str(dist), "gtmgbldir": str(work / "g.gld"),
            "gtmroutines": f"{work}({work}) {dist}/libgtmutil.so {dist}"}  # fmt: skip


def gtm_load(path: Path, work: Path) -> subprocess.CompletedProcess:
    """Create a fresh GT.M database in ``work`` and ``mupip load`` the ZWR file into it."""
    dist = gtm_dist()
    if dist is None:
        raise FileNotFoundError("GT.M is not installed")
    work.mkdir(parents=True, exist_ok=True)
    env = _gtm_env(dist, work)
    gde = (f"change -segment DEFAULT -file_name={work}/g.dat\n"
           "change -region DEFAULT -key_size=255 -record_size=4080\nexit\n")  # fmt: skip
    subprocess.run([dist / "mumps", "-run", "GDE"], input=gde, text=True, env=env, cwd=work,
                   capture_output=True, check=True)  # fmt: skip
    subprocess.run([dist / "mupip", "create"], env=env, cwd=work, capture_output=True, check=True)
    return subprocess.run([dist / "mupip", "load", "-format=zwr", str(path.resolve())], env=env,
                          cwd=work,
                          capture_output=True, text=True)  # fmt: skip


READ_BACK = """HGRB ; print every patient: DFN|NAME|SSN, then the header
 N D S D=0 F  S D=$O(^DPT(D)) Q:'D  W D,"|",$P(^DPT(D,0),"^",1),"|",$P(^DPT(D,0),"^",9),!
 W "HEADER|",$G(^DPT(0)),!
 Q
"""


def gtm_read_patients(work: Path) -> tuple[list[tuple[int, str, str]], str]:
    """Read ^DPT back from the database of :func:`gtm_load`: (DFN, NAME, SSN) rows and header."""
    dist = gtm_dist()
    assert dist is not None
    (work / "HGRB.m").write_text(READ_BACK)
    out = subprocess.run([dist / "mumps", "-run", "HGRB"], env=_gtm_env(dist, work), cwd=work,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    rows, header = [], ""
    for line in out.splitlines():
        parts = line.split("|")
        if parts[0] == "HEADER":
            header = parts[1]
        elif len(parts) == 3:
            rows.append((int(parts[0]), parts[1], parts[2]))
    return rows, header


def check_gtm(path: Path, work: Path, report: Report) -> None:
    """Load ``path`` into GT.M; a non-zero exit or a partial load is a finding."""
    result = gtm_load(path, work)
    report.checked["gtm loads"] += 1
    if result.returncode != 0 or "FAILEDRECCNT" in result.stderr + result.stdout:
        report.add(Finding("gtm", str(path), "-", "mupip-load",
                           (result.stderr or result.stdout).strip()[-300:]))  # fmt: skip
