"""Every Grafana panel and template variable runs against Postgres filled by a real run.

The dashboards in ``grafana/dashboards`` are checked twice:

* statically: valid JSON, unique uids, every panel and query on the provisioned
  ``virtualpy-postgres`` data source, raw SQL only, provisioning files consistent;
* live: a scratch database is filled by real ``pytest --results-db postgresql://...``
  sessions (see ``tests/grafana_seed.py``), then every template variable query and
  every panel's ``rawSql`` is expanded the way Grafana expands it and executed; each
  must return rows (time series: a ``time`` column, sorted by time);
* by value: a second scratch database holds one real run with passes, a product
  failure, a lab error and a usage error (a mistake in the test code), and the pass
  rate, failure and blame panels must count only the product failure against the
  product.

How Grafana expands a query, in order, and how this file copies it:

1. The frontend interpolates template variables: ``$lab``, ``${lab}``, ``[[lab]]`` and
   ``${lab:sqlstring}``/``:csv``/``:raw``... For a SQL data source a multi-value or
   "include All" variable becomes a quoted list ``'a','b'`` (so ``IN ($lab)`` works);
   "All" without a custom all value means every value the variable's query returned.
   ``$__interval``/``$__interval_ms`` become the panel's interval.
2. The Postgres backend expands macros (grafana-postgresql-datasource/macros.go):
   ``$__timeFilter(c)`` -> ``c BETWEEN 'from' AND 'to'`` (RFC 3339, UTC),
   ``$__timeFrom()``/``$__timeTo()`` -> quoted timestamps, ``$__timeGroup(c, 5m)`` ->
   ``floor(extract(epoch from c)/300)*300``, ``$__timeGroupAlias`` -> the same
   ``AS "time"``, ``$__time(c)``, ``$__timeEpoch(c)``, ``$__unixEpochFilter(c)`` ...
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
DATASOURCE_UID = "virtualpy-postgres"
DATASOURCE_TYPES = {"grafana-postgresql-datasource", "postgres"}
DEFAULT_INTERVAL = "1m"


# --- loading --------------------------------------------------------------------------


def _dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows; rows themselves excluded."""
    out = []
    for p in dashboard.get("panels", []):
        if p.get("type") == "row":
            out.extend(p.get("panels", []))
        else:
            out.append(p)
    return out


def _variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return dashboard.get("templating", {}).get("list", [])


def _variable_sql(var: dict[str, Any]) -> str:
    q = var.get("query")
    return q.get("rawSql") or q.get("query") if isinstance(q, dict) else q


def _cases() -> tuple[list[Any], list[Any]]:
    panels, variables = [], []
    for path in _dashboard_files():
        try:
            d = _load(path)
        except ValueError:
            continue  # test_dashboard_json_is_valid reports it
        for p in _panels(d):
            for t in p.get("targets", []):
                pid = f"{path.stem}::{p.get('title')}::{t.get('refId')}"
                panels.append(pytest.param(path.stem, p["id"], t.get("refId"), id=pid))
        for v in _variables(d):
            if v.get("type") == "query":
                variables.append(
                    pytest.param(path.stem, v["name"], id=f"{path.stem}::${v['name']}")
                )
    return panels, variables


PANEL_CASES, VARIABLE_CASES = _cases()


# --- Grafana's expansion ---------------------------------------------------------------

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_interval(text: str) -> float:
    """Seconds in a Grafana interval such as ``5m``, ``1h``, ``30s``, ``100ms``."""
    m = re.fullmatch(r"\s*'?(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)'?\s*", text)
    if not m:
        raise ValueError(f"not a Grafana interval: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _go_float(x: float) -> str:
    """Go's ``%v`` of a float64, as macros.go prints interval seconds."""
    if x == int(x) and abs(x) < 1e21:
        return f"{int(x)}" if abs(x) < 1e6 else f"{x:g}"
    return repr(x)


def _rfc3339(t: dt.datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: trailing zeros of the fraction dropped, ``Z``."""
    t = t.astimezone(dt.UTC)
    frac = f"{t.microsecond:06d}".rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_FORMATS = {
    "sqlstring": lambda vs: ",".join(_quote(v) for v in vs),
    "csv": lambda vs: ",".join(vs),
    "raw": lambda vs: ",".join(vs),
    "text": lambda vs: " + ".join(vs),
    "pipe": lambda vs: "|".join(vs),
    "singlequote": lambda vs: ",".join("'" + v.replace("'", "\\'") + "'" for v in vs),
    "doublequote": lambda vs: ",".join('"' + v.replace('"', '\\"') + '"' for v in vs),
}

# the frontend's variable syntaxes: $var, [[var]], [[var:fmt]], ${var}, ${var:fmt}
_VAR_RE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}")


def interpolate_variables(
    sql: str, variables: dict[str, dict[str, Any]], interval: str, time_range
) -> str:
    """Step 1: the frontend's template-variable interpolation for a SQL data source.

    ``variables`` maps a name to ``{"values": [...], "multi": bool, "includeAll": bool}``
    (the values being the selection, "All" already resolved to every option).
    """
    interval_s = parse_interval(interval)
    frm, to = time_range
    builtins = {
        "__interval": interval,
        "__interval_ms": str(int(interval_s * 1000)),
        "__from": str(int(frm.timestamp() * 1000)),
        "__to": str(int(to.timestamp() * 1000)),
        "__range_s": str(int((to - frm).total_seconds())),
        "__range_ms": str(int((to - frm).total_seconds() * 1000)),
        "__range": f"{int((to - frm).total_seconds())}s",
    }

    def replace(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        if name in builtins:
            return builtins[name]
        var = variables.get(name)
        if var is None:
            return m.group(0)  # not a variable ($__timeFilter...): left for the backend
        values = [str(v) for v in var["values"]]
        if fmt:
            if fmt not in _FORMATS:
                raise ValueError(f"unsupported variable format ${{{name}:{fmt}}}")
            return _FORMATS[fmt](values)
        if var.get("multi") or var.get("includeAll") or len(values) != 1:
            return ",".join(_quote(v) for v in values)
        return values[0].replace("'", "''")

    return _VAR_RE.sub(replace, sql)


_MACRO_RE = re.compile(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)")


def expand_macros(sql: str, time_range) -> str:
    """Step 2: the Postgres backend's macros, as grafana-postgresql-datasource/macros.go."""
    frm, to = (_rfc3339(t) for t in time_range)

    def time_group(args: list[str]) -> str:
        if len(args) < 2:
            raise ValueError("$__timeGroup needs a column and an interval")
        secs = _go_float(parse_interval(args[1].strip("'")))
        return f"floor(extract(epoch from {args[0]})/{secs})*{secs}"

    def replace(m: re.Match) -> str:
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        # macros.go: "$__timeGroup(...)," (followed by a comma) means the aliased form
        if name == "__timeGroup":
            i = sql.find(m.group(0))
            if i >= 0 and sql[i + len(m.group(0)) : i + len(m.group(0)) + 1] == ",":
                name = "__timeGroupAlias"
        col = args[0]
        f_unix, t_unix = (int(t.timestamp()) for t in time_range)
        match name:
            case "__time":
                return f'{col} AS "time"'
            case "__timeEpoch":
                return f'extract(epoch from {col}) as "time"'
            case "__timeFilter":
                return f"{col} BETWEEN '{frm}' AND '{to}'"
            case "__timeFrom":
                return f"'{frm}'"
            case "__timeTo":
                return f"'{to}'"
            case "__timeGroup":
                return time_group(args)
            case "__timeGroupAlias":
                return time_group(args) + ' AS "time"'
            case "__unixEpochFilter":
                return f"{col} >= {f_unix} AND {col} <= {t_unix}"
            case _:
                raise ValueError(f"unknown macro ${name}")

    return _MACRO_RE.sub(replace, sql)


def expand(sql, variables, interval, time_range) -> str:
    """The SQL Grafana would send to Postgres for this query."""
    out = expand_macros(interpolate_variables(sql, variables, interval, time_range), time_range)
    leftover = re.findall(r"\$\{?\w+", out)
    assert not leftover, f"unexpanded Grafana syntax {leftover} in:\n{out}"
    return out


# --- static checks ------------------------------------------------------------------


def test_there_are_dashboards():
    names = {p.stem for p in _dashboard_files()}
    assert {"runs-overview", "flaky-tests", "kpi-trends", "lab-health"} <= names


@pytest.mark.parametrize("path", _dashboard_files(), ids=lambda p: p.stem)
def test_dashboard_json_is_valid(path):
    d = _load(path)  # raises on invalid JSON
    assert d.get("uid") and d.get("title") and isinstance(d.get("panels"), list)
    assert d.get("schemaVersion", 0) >= 36, "Grafana 10/11 dashboard format"
    assert d.get("id") is None, "exported dashboards must not carry a database id"
    ids = [p["id"] for p in _panels(d)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in _panels(d):
        assert {"x", "y", "w", "h"} <= set(p.get("gridPos", {})), p.get("title")


def test_dashboard_uids_and_titles_are_unique():
    ds = [_load(p) for p in _dashboard_files()]
    assert len({d["uid"] for d in ds}) == len(ds)
    assert len({d["title"] for d in ds}) == len(ds)


def _is_ours(ds: Any) -> bool:
    return (
        isinstance(ds, dict)
        and ds.get("uid") == DATASOURCE_UID
        and ds.get("type") in DATASOURCE_TYPES
    )


@pytest.mark.parametrize("path", _dashboard_files(), ids=lambda p: p.stem)
def test_every_panel_and_query_has_the_datasource(path):
    d = _load(path)
    for p in _panels(d):
        title = p.get("title")
        assert _is_ours(p.get("datasource")), f"panel {title!r} has no virtualpy datasource"
        assert p.get("targets"), f"panel {title!r} has no query"
        for t in p["targets"]:
            assert _is_ours(t.get("datasource", p["datasource"])), title
            assert t.get("rawQuery") is True and t.get("editorMode") == "code", title
            assert t.get("rawSql", "").strip(), f"panel {title!r} has no rawSql"
            assert t.get("format") in ("table", "time_series"), title
            if p["type"] == "timeseries":
                assert t["format"] == "time_series", title
                assert "$__timeFilter(" in t["rawSql"], title
                assert "$__timeGroupAlias(" in t["rawSql"], title
    for v in _variables(d):
        if v.get("type") == "query":
            assert _is_ours(v.get("datasource")), f"variable ${v['name']}"
            assert _variable_sql(v).strip()


def test_provisioning_matches_the_dashboards():
    yaml = pytest.importorskip("yaml")
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/postgres.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["uid"] == DATASOURCE_UID and source["type"] in DATASOURCE_TYPES
    text = json.dumps(source)
    for env in ("HOST", "PORT", "DB", "USER", "PASSWORD"):
        assert f"${{VIRTUALPY_PG_{env}}}" in text, f"the datasource takes {env} from the env"
    boards = yaml.safe_load((GRAFANA / "provisioning/dashboards/virtualpy.yaml").read_text())
    (provider,) = boards["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((GRAFANA / "docker-compose.yml").read_text())
    mounts = " ".join(compose["services"]["grafana"]["volumes"])
    assert "./provisioning:/etc/grafana/provisioning" in mounts
    assert f"./dashboards:{provider['options']['path']}" in mounts


def test_macro_expansion_matches_grafana():
    rng = (
        dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 5, 1, 12, 30, 0, 500000, tzinfo=dt.UTC),
    )
    variables = {"lab": {"values": ["pi-03", "o'brien"], "multi": True, "includeAll": True}}
    sql = (
        "SELECT $__timeGroupAlias(t.at, $__interval), $__timeGroup(t.at, '1h') AS b "
        "FROM t WHERE $__timeFilter(t.at) AND l IN ($lab) AND m IN (${lab:sqlstring}) "
        "AND n = '${lab:csv}' AND t.at < $__timeTo() AND $__interval_ms > 0"
    )
    assert expand(sql, variables, "5m", rng) == (
        'SELECT floor(extract(epoch from t.at)/300)*300 AS "time", '
        "floor(extract(epoch from t.at)/3600)*3600 AS b "
        "FROM t WHERE t.at BETWEEN '2024-05-01T10:00:00Z' AND '2024-05-01T12:30:00.5Z' "
        "AND l IN ('pi-03','o''brien') AND m IN ('pi-03','o''brien') "
        "AND n = 'pi-03,o'brien' AND t.at < '2024-05-01T12:30:00.5Z' AND 300000 > 0"
    )


# --- live checks against a database filled by real runs ---------------------------------


@pytest.fixture(scope="session")
def seed_module():
    """``tests/grafana_seed.py``, once Postgres and ``--results-db`` are known to work."""
    import grafana_seed as seed  # tests/ is on sys.path (rootdir conftest)

    why = seed.postgres_available() or seed.results_db_option_missing()
    if why:
        pytest.skip(why)
    return seed


@pytest.fixture(scope="session")
def seeded(seed_module, tmp_path_factory):
    """A scratch Postgres database filled by real ``pytest --results-db`` sessions."""
    seed = seed_module
    name, url = seed.create_scratch_db()
    try:
        done = seed.seed_by_real_runs(url, tmp_path_factory.mktemp("grafana-seed"))
        yield done
    finally:
        seed.drop_db(name)


@pytest.fixture(scope="session")
def db(seeded):
    import psycopg

    with psycopg.connect(seeded.url, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = on")  # dashboards only read
        yield conn


@pytest.fixture(scope="session")
def time_range(seeded):
    """The dashboard's time picker: the last day, up to just after the seed."""
    to = dt.datetime.fromtimestamp(seeded.finished, dt.UTC) + dt.timedelta(minutes=1)
    return to - dt.timedelta(days=1), to


def _resolve_variables(db, time_range) -> dict[str, dict[str, dict[str, Any]]]:
    """Per dashboard: every template variable's options, resolved in order, "All" selected."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for path in _dashboard_files():
        variables: dict[str, dict[str, Any]] = {}
        for v in _variables(_load(path)):
            if v.get("type") != "query":
                continue
            sql = expand(_variable_sql(v), variables, DEFAULT_INTERVAL, time_range)
            rows = db.execute(sql).fetchall()
            values = [r[0] for r in rows]
            variables[v["name"]] = {
                "values": values,
                "multi": v.get("multi", False),
                "includeAll": v.get("includeAll", False),
                "sql": sql,
            }
        out[path.stem] = variables
    return out


@pytest.fixture(scope="session")
def resolved(db, time_range):
    return _resolve_variables(db, time_range)


def _panel_sql(dashboard, panel_id, resolved, time_range, interval=None, ref_id="A"):
    """A panel's query as Grafana would send it, "All" selected; also the panel."""
    panel = next(p for p in _panels(_load(DASHBOARDS / f"{dashboard}.json")) if p["id"] == panel_id)
    target = next(t for t in panel["targets"] if t.get("refId") == ref_id)
    interval = interval or panel.get("interval") or DEFAULT_INTERVAL
    variables = {k: v for k, v in resolved[dashboard].items() if v["values"]}
    return expand(target["rawSql"], variables, interval, time_range), panel


@pytest.mark.parametrize(("dashboard", "name"), VARIABLE_CASES)
def test_template_variable_returns_options(resolved, dashboard, name):
    var = resolved[dashboard][name]
    assert var["values"], f"${name} has no options; its query was:\n{var['sql']}"


@pytest.mark.parametrize(("dashboard", "panel_id", "ref_id"), PANEL_CASES)
def test_panel_query_returns_rows(db, resolved, time_range, dashboard, panel_id, ref_id):
    # "All" selected everywhere, as the dashboards open by default
    sql, panel = _panel_sql(dashboard, panel_id, resolved, time_range, ref_id=ref_id)
    target = next(t for t in panel["targets"] if t.get("refId") == ref_id)
    cur = db.execute(sql)
    columns = [c.name for c in cur.description]
    rows = cur.fetchall()
    assert rows, f"panel {panel['title']!r} returned no rows; its SQL was:\n{sql}"
    if target["format"] == "time_series":
        assert "time" in columns, columns
        times = [r[columns.index("time")] for r in rows]
        assert times == sorted(times), "time series must be sorted by time"
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        props = {p["id"]: p["value"] for p in override["properties"]}
        if "links" in props:  # a data link needs its column, and something to link to
            field = override["matcher"]["options"]
            assert field in columns, f"data link on missing column {field!r}"
            linked = [r[columns.index(field)] for r in rows if r[columns.index(field)]]
            assert linked, f"no row of {panel['title']!r} has a {field!r} to link to"


# --- by value: usage errors are not the product's failures -------------------------------

#: An interval longer than the Unix epoch so far: every time series has a single bucket.
ONE_BUCKET = "100y"

USAGE_FILTER = " AND tr.usage_error IS NOT TRUE"


def _pass_rate_panels() -> list[Any]:
    """The runs-overview panels whose query computes a pass rate."""
    d = _load(DASHBOARDS / "runs-overview.json")
    return [
        pytest.param(p["id"], id=p["title"])
        for p in _panels(d)
        if re.search(r'AS "?pass[ _]rate"?', p["targets"][0]["rawSql"])
    ]


@pytest.fixture(scope="module")
def usage_seeded(seed_module, tmp_path_factory):
    """A scratch database holding one real run: passes, a product failure, a lab error
    and a usage error (see ``grafana_seed.seed_one_run``)."""
    seed = seed_module
    name, url = seed.create_scratch_db("vp_grafana_usage")
    try:
        yield seed.seed_one_run(url, tmp_path_factory.mktemp("grafana-usage"))
    finally:
        seed.drop_db(name)


@pytest.fixture(scope="module")
def usage_db(usage_seeded):
    import psycopg

    with psycopg.connect(usage_seeded.url, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = on")
        yield conn


@pytest.fixture(scope="module")
def usage_range(usage_seeded):
    return (
        dt.datetime.fromtimestamp(usage_seeded.started, dt.UTC) - dt.timedelta(minutes=1),
        dt.datetime.fromtimestamp(usage_seeded.finished, dt.UTC) + dt.timedelta(minutes=1),
    )


@pytest.fixture(scope="module")
def usage_resolved(usage_db, usage_range):
    return _resolve_variables(usage_db, usage_range)


@pytest.fixture(scope="module")
def usage_counts(usage_db) -> dict[str, int]:
    """What the seeded run holds, counted straight from test_results."""
    row = usage_db.execute(
        "SELECT count(*) FILTER (WHERE outcome = 'passed'),"
        " count(*) FILTER (WHERE outcome IN ('failed', 'error')"
        "   AND lab_error IS NOT TRUE AND usage_error IS NOT TRUE),"
        " count(*) FILTER (WHERE lab_error),"
        " count(*) FILTER (WHERE outcome = 'error' AND usage_error),"
        " count(DISTINCT run_id)"
        " FROM test_results"
    ).fetchone()
    counts = dict(zip(("passed", "product", "lab", "usage", "runs"), row, strict=True))
    assert counts == {"passed": 3, "product": 1, "lab": 1, "usage": 1, "runs": 1}, counts
    return counts


def _rate(passed: int, counted: int) -> float:
    return round(100.0 * passed / counted, 1)


@pytest.mark.parametrize("panel_id", _pass_rate_panels())
def test_pass_rate_leaves_out_usage_errors(
    usage_db, usage_resolved, usage_range, usage_counts, panel_id
):
    sql, panel = _panel_sql("runs-overview", panel_id, usage_resolved, usage_range, ONE_BUCKET)
    cur = usage_db.execute(sql)
    columns = [c.name for c in cur.description]
    column = "pass rate" if "pass rate" in columns else "pass_rate"
    rates = [float(r[columns.index(column)]) for r in cur.fetchall()]
    # passed / (passed + product failures): neither the lab error nor the usage error counts
    expected = _rate(usage_counts["passed"], usage_counts["passed"] + usage_counts["product"])
    assert rates == [expected], f"{panel['title']!r}: {rates}, expected {expected}:\n{sql}"


def test_the_seeded_usage_error_would_change_the_pass_rate(
    usage_db, usage_resolved, usage_range, usage_counts
):
    """Without its usage_error filter, the Summary panel would count the usage error."""
    sql, _ = _panel_sql("runs-overview", 1, usage_resolved, usage_range)
    cur = usage_db.execute(sql.replace(USAGE_FILTER, ""))
    row = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))
    counted = usage_counts["passed"] + usage_counts["product"] + usage_counts["usage"]
    assert float(row["pass rate"]) == _rate(usage_counts["passed"], counted)
    assert row["product failures"] == usage_counts["product"] + usage_counts["usage"]


def test_summary_counts_usage_errors_apart(usage_db, usage_resolved, usage_range, usage_counts):
    sql, _ = _panel_sql("runs-overview", 1, usage_resolved, usage_range)
    cur = usage_db.execute(sql)
    row = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))
    assert row["product failures"] == usage_counts["product"]
    assert row["lab errors"] == usage_counts["lab"]
    assert row["test-code errors"] == usage_counts["usage"]


def test_recent_failures_blame_the_test_code_for_usage_errors(
    usage_db, usage_resolved, usage_range, usage_counts
):
    sql, _ = _panel_sql("runs-overview", 7, usage_resolved, usage_range)
    cur = usage_db.execute(sql)
    columns = [c.name for c in cur.description]
    blame = {r[columns.index("test")]: r[columns.index("blame")] for r in cur.fetchall()}
    assert blame == {
        "test_generated.py::test_banner_shows_a_missing_channel": "product",
        "test_generated.py::test_lease_is_lost": "lab",
        "test_generated.py::test_misspelt_key": "test code",
    }


@pytest.mark.parametrize(
    ("panel_id", "lab", "usage", "product"),
    [
        pytest.param(1, "lab errors", "test-code errors", "product failures", id="time series"),
        pytest.param(3, "lab_errors", "test_code_errors", "product_failures", id="per device"),
    ],
)
def test_lab_health_shows_usage_errors_apart(
    usage_db, usage_resolved, usage_range, usage_counts, panel_id, lab, usage, product
):
    sql, _ = _panel_sql("lab-health", panel_id, usage_resolved, usage_range, ONE_BUCKET)
    cur = usage_db.execute(sql)
    columns = [c.name for c in cur.description]
    rows = cur.fetchall()
    total = {k: sum(r[columns.index(k)] for r in rows) for k in (lab, usage, product)}
    assert total == {
        lab: usage_counts["lab"],
        usage: usage_counts["usage"],
        product: usage_counts["product"],
    }


@pytest.mark.parametrize("panel_id", [3, 4], ids=["flaky tests by build", "outcome history"])
def test_usage_errors_do_not_make_a_test_flaky(db, resolved, time_range, panel_id):
    """On build b2 one test passed once and had a usage error once: not flaky."""
    sql, _ = _panel_sql("flaky-tests", panel_id, resolved, time_range)

    def flaky(query: str) -> set[str]:
        cur = db.execute(query)
        column = [c.name for c in cur.description].index("test")
        return {r[column] for r in cur.fetchall()}

    misspells = "test_generated.py::test_sometimes_misspells_a_key"
    assert "test_generated.py::test_sometimes_fails" in flaky(sql)
    assert misspells not in flaky(sql)
    assert misspells in flaky(sql.replace(USAGE_FILTER, "")), "the seed has no such test"


# --- by value: incidents from a real daemon, written by a real `virtualpy monitor` ---------


def _incident_rows(db, resolved, time_range, panel_id) -> list[dict[str, Any]]:
    sql, _ = _panel_sql("lab-health", panel_id, resolved, time_range)
    cur = db.execute(sql)
    columns = [c.name for c in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    return [r for r in rows if r["lab"] == seed_incident_lab()]


def seed_incident_lab() -> str:
    import grafana_seed

    return grafana_seed.INCIDENT_LAB


def test_incidents_per_device_counts_open_and_ended(db, resolved, time_range):
    rows = _incident_rows(db, resolved, time_range, 6)
    got = {r["device"]: (r["open_now"], r["open"], r["incidents"]) for r in rows}
    assert got == {"box-1": ("frozen", 1, 1), "box-0": ("", 0, 1)}
    assert [r["device"] for r in rows] == ["box-1", "box-0"], "open ones first"
    assert all(r["minutes"] >= 0 for r in rows)


def test_open_and_recent_incidents_lists_each_once(db, resolved, time_range):
    import grafana_seed

    rows = _incident_rows(db, resolved, time_range, 7)
    got = [(r["device"], r["kind"], r["state"]) for r in rows]
    expected = [(dev, kind, state) for dev, (kind, state) in grafana_seed.INCIDENTS.items()]
    assert sorted(got) == sorted(expected) and got[0][2] == "open", got
    black = next(r for r in rows if r["kind"] == "black")
    assert black["ended"] > black["time"] and black["seconds"] >= 1.0
    assert next(r for r in rows if r["kind"] == "frozen")["ended"] is None


def test_incident_panels_leave_out_what_ended_before_the_range(db, resolved, time_range):
    """Shift the range to after the seed: the ended incident goes, the open one stays."""
    later = (time_range[1] + dt.timedelta(hours=1), time_range[1] + dt.timedelta(hours=2))
    rows = _incident_rows(db, resolved, later, 7)
    assert [(r["device"], r["state"]) for r in rows] == [("box-1", "open")]
