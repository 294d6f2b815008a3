"""Renders every SpinKube region overlay and checks what a deployment needs to be right,
and the Akamai Functions variables files (deploy/akamai) beside them.

Run by test.sh (which provides kubectl and the Python packages); prints one line per check
and ends with `N passed, N failed`. Usage: validate.py KUBECTL SPINKUBE_DIR SPIN_TOML
where SPINKUBE_DIR is a copy of deploy/spinkube whose overlays hold their example secrets.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tomllib

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = os.environ.get("KUBERNETES_VERSION", "1.33.0")
CRD_KINDS = {"SpinApp", "SpinAppExecutor"}
# spin.toml variables whose value must never be written into a manifest.
SECRET_VARIABLES = {"database_url", "replica_database_url", "hop_secret", "redis_url", "regional_redis_url"}
# user:password@ in a URL: a credential spelled out.
URL_WITH_PASSWORD = re.compile(r"://[^/\s@:]*:[^/\s@]+@")

results = []


def check(ok, what, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))


def strict(schema):
    """The CRD's schema, rejecting unknown fields: the API server would silently prune them,
    so a misspelt field would deploy as if it were absent."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def crd_validators(schema_dir):
    validators = {}
    for name in sorted(os.listdir(schema_dir)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(schema_dir, name)) as file:
            crd = yaml.safe_load(file)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def schema_errors(obj, validators):
    key = (obj.get("apiVersion"), obj.get("kind"))
    if obj.get("kind") in CRD_KINDS:
        if key not in validators:
            return [f"no CRD schema for {key}"]
        return [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validators[key].iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        return []
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(map(str, error.path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [str(error)]


def strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


def check_overlay(region, objects, validators, manifest):
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
        name = f"{region}: {obj['kind']}/{obj['metadata']['name']}"
        errors = schema_errors(obj, validators)
        check(not errors, f"{name} is valid", "; ".join(errors[:5]))

    apps = by_kind.get("SpinApp", [])
    check(len(apps) == 1, f"{region}: exactly one SpinApp", f"found {len(apps)}")
    if len(apps) != 1:
        return None
    app = apps[0]
    spec = app["spec"]
    variables = {v["name"]: v for v in spec.get("variables", [])}
    secrets = {
        s["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in s.get("data", {}).items()}
        for s in by_kind.get("Secret", [])
    }
    config_maps = {c["metadata"]["name"]: c.get("data", {}) for c in by_kind.get("ConfigMap", [])}

    check(app["metadata"].get("namespace") == region, f"{region}: SpinApp lives in namespace {region}")
    check(
        variables.get("region", {}).get("value") == region,
        f"{region}: variable region is {region}",
        f"got {variables.get('region')}",
    )

    declared = manifest["variables"]
    unknown = sorted(set(variables) - set(declared))
    check(not unknown, f"{region}: every variable is declared in spin.toml", f"unknown {unknown}")
    missing = sorted(n for n, d in declared.items() if d.get("required") and n not in variables)
    check(not missing, f"{region}: every required variable is set", f"missing {missing}")
    check("hop_secret" in variables, f"{region}: hop_secret is set (required with several regions)")

    literal = sorted(
        n for n, v in variables.items()
        if (n in SECRET_VARIABLES or declared.get(n, {}).get("secret")) and "valueFrom" not in v
    )
    check(not literal, f"{region}: secret variables come from Secrets", f"literal {literal}")

    # Every reference must resolve, or the pod never starts (CreateContainerConfigError).
    refs = []
    for v in variables.values():
        refs.append(v.get("valueFrom", {}))
    stores = spec.get("runtimeConfig", {}).get("keyValueStores", [])
    for store in stores:
        for option in store.get("options", []):
            refs.append(option.get("valueFrom", {}))
    dangling = []
    for ref in refs:
        for kind, found in (("secretKeyRef", secrets), ("configMapKeyRef", config_maps)):
            if kind in ref and ref[kind]["key"] not in found.get(ref[kind]["name"], {}):
                dangling.append(f"{ref[kind]['name']}/{ref[kind]['key']}")
    check(not dangling, f"{region}: every Secret and ConfigMap key referenced exists", f"{dangling}")

    # Per-request work of the region (rate limits, refill leases) must stay in the region:
    # the same Redis as the region's own key-value stores, not the shared one.
    regional_store_keys = {
        o.get("valueFrom", {}).get("secretKeyRef", {}).get("key")
        for s in stores if s["name"] == "catalog-cache" for o in s.get("options", [])
    }
    regional_key = variables.get("regional_redis_url", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("key")
    check(
        regional_key is not None and regional_key in regional_store_keys,
        f"{region}: regional_redis_url is the Redis of the region's catalog cache",
        f"{regional_key} vs {sorted(k for k in regional_store_keys if k)}",
    )

    store_urls_literal = [s["name"] for s in stores for o in s.get("options", []) if "value" in o]
    check(not store_urls_literal, f"{region}: key-value store URLs come from Secrets", f"{store_urls_literal}")
    labels = {
        label
        for component in manifest["component"].values()
        for label in component.get("key_value_stores", [])
    }
    undefined = sorted(labels - {s["name"] for s in stores})
    check(not undefined, f"{region}: every key-value store spin.toml uses is configured", f"{undefined}")

    # No secret value may appear outside a Secret object.
    secret_values = {v for data in secrets.values() for v in data.values() if len(v) >= 8}
    leaks = [
        f"{obj['kind']}/{obj['metadata']['name']}"
        for obj in objects
        if obj["kind"] != "Secret"
        and any(URL_WITH_PASSWORD.search(s) or s in secret_values for s in strings(obj))
    ]
    check(not leaks, f"{region}: no secret value outside Secrets", f"{leaks}")

    readiness = spec.get("checks", {}).get("readiness", {}).get("httpGet", {}).get("path")
    check(readiness == "/alive", f"{region}: readiness probe is GET /alive", f"got {readiness}")

    executors = {e["metadata"]["name"] for e in by_kind.get("SpinAppExecutor", [])}
    check(spec.get("executor") in executors, f"{region}: the SpinApp's executor is deployed with it")

    # The relay job runs the script of the ConfigMap it mounts (the tests run that same file).
    pods = [j["spec"]["jobTemplate"]["spec"]["template"]["spec"] for j in by_kind.get("CronJob", [])]
    mounted = {
        v["configMap"]["name"] for pod in pods for v in pod.get("volumes", []) if "configMap" in v
    }
    scripts = [text for name in mounted for text in config_maps.get(name, {}).values()]
    check(
        any("/api/admin/outbox/relay" in text for text in scripts),
        f"{region}: a CronJob runs a script that calls the outbox relay",
        f"mounted ConfigMaps: {sorted(mounted)}",
    )

    ref = variables.get("regions", {}).get("valueFrom", {}).get("configMapKeyRef")
    return config_maps.get(ref["name"], {}).get(ref["key"]) if ref else variables.get("regions", {}).get("value")


def check_topology(where, text, regions):
    """The router's `regions`: every deployed region, once, and the primary in us-east."""
    try:
        topology = json.loads(text or "")
        names = sorted(r["name"] for r in topology)
        primaries = [r["name"] for r in topology if r.get("primary")]
    except (ValueError, KeyError, TypeError) as error:
        names, primaries = [], []
        check(False, f"{where}: regions JSON parses", str(error))
    check(names == sorted(regions), f"{where}: regions JSON names exactly its regions", f"{names} vs {regions}")
    check(primaries == ["us-east"], f"{where}: us-east is the one primary region", f"primary: {primaries}")


def check_akamai(directory, manifest):
    """deploy/akamai/<region>.vars: what `spin aka deploy --variable` gets per region."""
    regions = sorted(name[: -len(".vars")] for name in os.listdir(directory) if name.endswith(".vars"))
    for region in regions:
        with open(os.path.join(directory, f"{region}.vars")) as file:
            lines = [line.strip() for line in file if line.strip() and not line.startswith("#")]
        pairs = dict(line.split("=", 1) for line in lines if "=" in line)
        check(len(pairs) == len(lines), f"akamai {region}: every line is name=value")
        unknown = sorted(set(pairs) - set(manifest["variables"]))
        check(not unknown, f"akamai {region}: every variable is declared in spin.toml", f"{unknown}")
        secret = sorted(n for n in pairs if n in SECRET_VARIABLES or manifest["variables"].get(n, {}).get("secret"))
        check(not secret, f"akamai {region}: no secret variable in the file", f"{secret}")
        expected = {"region": region, "enrollment_mode": "direct", "trust_true_client_ip": "true"}
        wrong = {n: pairs.get(n) for n, v in expected.items() if pairs.get(n) != v}
        check(not wrong, f"akamai {region}: region, direct enrollment and true-client-ip", f"{wrong}")
    with open(os.path.join(directory, "regions.json")) as file:
        check_topology("Akamai", file.read(), regions)


# What the geo-router, composed in front of each public component, takes from that component.
ROUTER_VARIABLES = (
    "region", "regions", "hop_secret", "geo_router", "database_url", "replica_database_url", "redis_url",
    "regional_redis_url",
)
ROUTER_HOSTS = ("http://*:*", "https://*:*", "postgres://*:*", "redis://*:*")
TEMPLATE = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")


def check_router_middleware(manifest):
    """spin.toml: the geo-router is middleware in front of every public route, and every
    component it wraps gives it the same configuration (it reads the wrapped component's)."""
    triggers = manifest["trigger"]["http"]
    middleware = [{"component": "geo-router", "inherit_configuration": True}]
    public = [t for t in triggers if not isinstance(t.get("route"), dict)]
    bare = [t["route"] for t in public if t.get("dependencies", {}).get("middleware") != middleware]
    check(not bare, "spin.toml: the geo-router is composed in front of every public route", f"{bare}")
    check(
        all(t.get("component") != "geo-router" for t in triggers),
        "spin.toml: the geo-router has no trigger of its own",
    )
    wrapped = sorted({t["component"] for t in public})
    components = manifest["component"]
    expected = {name: components[wrapped[0]].get("variables", {}).get(name) for name in ROUTER_VARIABLES}
    for name in wrapped:
        component = components[name]
        variables = component.get("variables", {})
        differing = [v for v in ROUTER_VARIABLES if variables.get(v) != expected[v] or variables.get(v) is None]
        check(not differing, f"spin.toml: {name} gives the router its variables, as the others do", f"{differing}")
        check("default" in component.get("key_value_stores", []), f"spin.toml: {name} lists the router's default store")
        hosts = component.get("allowed_outbound_hosts", [])
        missing = [h for h in ROUTER_HOSTS if h not in hosts]
        check(not missing, f"spin.toml: {name} allows the router's outbound hosts", f"missing {missing}")
    settings = TEMPLATE.sub(lambda m: m.group(1), expected["geo_router"] or "")
    try:
        parsed = json.loads(settings)
        unknown = [v for v in parsed.values() if v not in manifest["variables"]]
        check(not unknown, "spin.toml: geo_router names only declared variables", f"{unknown}")
    except ValueError as error:
        check(False, "spin.toml: geo_router is a JSON object", str(error))


def main():
    kubectl, spinkube, spin_toml = sys.argv[1:4]
    repo = os.path.dirname(os.path.abspath(spin_toml))
    with open(spin_toml, "rb") as file:
        manifest = tomllib.load(file)
    validators = crd_validators(os.path.join(spinkube, "schema"))
    overlays = sorted(os.listdir(os.path.join(spinkube, "overlays")))
    topologies = {}
    for region in overlays:
        rendered = subprocess.run(
            [kubectl, "kustomize", os.path.join(spinkube, "overlays", region)],
            capture_output=True,
            text=True,
        )
        check(rendered.returncode == 0, f"{region}: kubectl kustomize renders", rendered.stderr.strip())
        if rendered.returncode == 0:
            objects = [o for o in yaml.safe_load_all(rendered.stdout) if o]
            topologies[region] = check_overlay(region, objects, validators, manifest)

        # The real secret files must never be committable.
        for secret_file in ("secrets.env", "relay-admin.json"):
            path = os.path.join("deploy", "spinkube", "overlays", region, secret_file)
            ignored = subprocess.run(["git", "-C", repo, "check-ignore", "-q", path]).returncode == 0
            check(ignored, f"{region}: {secret_file} is gitignored")

    distinct = {t for t in topologies.values()}
    check(len(distinct) == 1, "every overlay has the same regions JSON", f"{len(distinct)} versions")
    check_topology("SpinKube", next(iter(distinct), None), overlays)
    check_akamai(os.path.join(repo, "deploy", "akamai"), manifest)
    check_router_middleware(manifest)

    passed = results.count(True)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
