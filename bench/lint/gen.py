#!/usr/bin/env python3
"""Generates a large, consistent VPC Lattice manifest set for benchmarks.

Per app: a Deployment (readinessProbe), a ClusterIP Service, an HTTPRoute attached to the one
Lattice Gateway and a TargetGroupPolicy whose health check matches the probe, so the set lints
clean. Plus one GatewayClass, one Gateway, an IAMAuthPolicy on the Gateway (about half of the
namespaces are labelled `environment: production`) and the Namespaces.

  gen.py --out FILE            one multi-document YAML file (lint benchmark)
  gen.py --dir DIR             one file per namespace (cluster state for `serve --cluster-state`)
  gen.py --dir DIR --reviews R also writes AdmissionReview bodies to R: HTTPRoute CREATE and
                               TargetGroupPolicy CREATE of one app (left out of DIR) and a
                               Gateway UPDATE

Output is deterministic for a given --seed. Python standard library only.
"""

import argparse
import json
import os
import random
import re
import sys

GATEWAY_NS = "lattice-system"
GATEWAY = "bench-sn"
CONTROLLER = "application-networking.k8s.aws/gateway-api-controller"
TEAMS = ["payments", "orders", "catalog", "search", "identity", "shipping", "billing", "ledger",
         "inventory", "pricing", "reviews", "profile", "notify", "media", "risk", "support"]
WORDS = ["api", "worker", "gateway", "reader", "writer", "sync", "events", "query", "admin",
         "export", "import", "report", "cache", "auth", "feed", "store"]
PROBE_PATHS = ["/healthz", "/readyz", "/health", "/api/health", "/v1/health", "/status"]
REGISTRY = "ghcr.io/example"

# ---------------------------------------------------------------------------------------------
# YAML emitter (block style, like kubectl output). Strings that a YAML 1.2 or 1.1 reader could
# take for another type, or that contain indicators, are written JSON-quoted.

_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./ -]*$")
_NOT_PLAIN = re.compile(
    r"^(?:[-+]?[0-9._]+(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|"
    r"true|false|yes|no|on|off|y|n|null|~|\.inf|\.nan)$", re.IGNORECASE)


def _scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if _PLAIN.match(v) and not _NOT_PLAIN.match(v) and not v.endswith(" "):
        return v
    return json.dumps(v)


def _emit(v, indent, out):
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            key = _scalar(k)
            if isinstance(x, dict) and x:
                out.append(f"{pad}{key}:\n")
                _emit(x, indent + 2, out)
            elif isinstance(x, list) and x:
                out.append(f"{pad}{key}:\n")
                _emit(x, indent, out)  # kubectl style: "- " at the key's indentation
            elif isinstance(x, dict):
                out.append(f"{pad}{key}: {{}}\n")
            elif isinstance(x, list):
                out.append(f"{pad}{key}: []\n")
            elif isinstance(x, str) and "\n" in x:
                out.append(f"{pad}{key}: |\n")
                for line in x.rstrip("\n").split("\n"):
                    out.append(f"{pad}  {line}\n" if line else "\n")
            else:
                out.append(f"{pad}{key}: {_scalar(x)}\n")
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict) and x:
                sub = []
                _emit(x, indent + 2, sub)
                sub[0] = f"{pad}- " + sub[0][indent + 2:]
                out.extend(sub)
            elif isinstance(x, list) and x:
                raise ValueError("nested lists are not needed here")
            else:
                out.append(f"{pad}- {_scalar(x) if not isinstance(x, (dict, list)) else '{}'}\n")


def to_yaml(obj):
    out = []
    _emit(obj, 0, out)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Objects


def namespace(name, team, production):
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/metadata.name": name,
                "team": team,
                "environment": "production" if production else "staging",
                "application-networking.k8s.aws/pod-readiness-gate-inject": "enabled",
            },
        },
    }


def gateway_class():
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "amazon-vpc-lattice"},
        "spec": {"controllerName": CONTROLLER},
    }


def gateway():
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": GATEWAY, "namespace": GATEWAY_NS,
                     "labels": {"app.kubernetes.io/part-of": "platform"}},
        "spec": {
            "gatewayClassName": "amazon-vpc-lattice",
            "listeners": [{
                "name": "http",
                "protocol": "HTTP",
                "port": 80,
                "allowedRoutes": {"namespaces": {"from": "All"}, "kinds": [{"kind": "HTTPRoute"}]},
            }],
        },
    }


def gateway_auth_policy():
    doc = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": "*",
            "Action": "vpc-lattice-svcs:Invoke",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}},
        }],
    }
    return {
        "apiVersion": "application-networking.k8s.aws/v1alpha1",
        "kind": "IAMAuthPolicy",
        "metadata": {"name": f"{GATEWAY}-auth", "namespace": GATEWAY_NS},
        "spec": {
            "targetRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY},
            "policy": json.dumps(doc, indent=2) + "\n",
        },
    }


class App:
    """One application: the four objects that must agree with each other."""

    def __init__(self, rnd, index, ns, team):
        self.ns = ns
        self.team = team
        self.name = f"{rnd.choice(WORDS)}-{index:04d}"
        self.port = rnd.choice([3000, 8080, 8080, 8443, 9000])
        self.probe_path = rnd.choice(PROBE_PATHS)
        self.version = f"1.{rnd.randrange(40)}.{rnd.randrange(20)}"
        self.period = rnd.choice([5, 10, 10, 15, 30])
        self.replicas = rnd.choice([2, 2, 3, 4, 6])
        self.cpu = rnd.choice(["100m", "250m", "500m", "1"])
        self.mem = rnd.choice(["128Mi", "256Mi", "512Mi", "1Gi"])
        self.prefix = f"/{self.name}"

    def labels(self):
        return {"app": self.name, "version": self.version, "team": self.team}

    def deployment(self):
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": self.name, "namespace": self.ns, "labels": self.labels()},
            "spec": {
                "replicas": self.replicas,
                "selector": {"matchLabels": {"app": self.name}},
                "template": {
                    "metadata": {"labels": {"app": self.name}},
                    "spec": {
                        "containers": [{
                            "name": "app",
                            "image": f"{REGISTRY}/{self.team}/{self.name}:{self.version}",
                            "ports": [{"name": "http", "containerPort": self.port}],
                            "env": [
                                {"name": "PORT", "value": str(self.port)},
                                {"name": "LOG_LEVEL", "value": "info"},
                            ],
                            "resources": {
                                "requests": {"cpu": self.cpu, "memory": self.mem},
                            },
                            "readinessProbe": {
                                "httpGet": {"path": self.probe_path, "port": self.port},
                                "periodSeconds": self.period,
                            },
                        }],
                    },
                },
            },
        }

    def service(self):
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": self.name, "namespace": self.ns, "labels": {"app": self.name}},
            "spec": {
                "selector": {"app": self.name},
                "ports": [{"name": "http", "port": 80, "targetPort": self.port}],
            },
        }

    def route(self):
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": self.name, "namespace": self.ns},
            "spec": {
                "parentRefs": [{"name": GATEWAY, "namespace": GATEWAY_NS, "sectionName": "http"}],
                "hostnames": [f"{self.name}.{self.ns}.bench.internal"],
                "rules": [{
                    "matches": [{"path": {"type": "PathPrefix", "value": self.prefix}}],
                    "backendRefs": [{"name": self.name, "port": 80}],
                }],
            },
        }

    def tgp(self):
        return {
            "apiVersion": "application-networking.k8s.aws/v1alpha1",
            "kind": "TargetGroupPolicy",
            "metadata": {"name": f"{self.name}-tgp", "namespace": self.ns},
            "spec": {
                "targetRef": {"group": "", "kind": "Service", "name": self.name},
                "healthCheck": {
                    "enabled": True,
                    "path": self.probe_path,
                    "port": self.port,
                    "intervalSeconds": max(self.period, 5),
                    "timeoutSeconds": 2,
                    "unhealthyThresholdCount": 3,
                    "statusMatch": "200-399",
                },
            },
        }


# ---------------------------------------------------------------------------------------------
# AdmissionReview bodies, shaped like what kube-apiserver sends (defaults applied, server
# metadata, last-applied annotation and managedFields).

GVR = {
    "HTTPRoute": ("gateway.networking.k8s.io", "v1", "httproutes"),
    "Gateway": ("gateway.networking.k8s.io", "v1", "gateways"),
    "TargetGroupPolicy": ("application-networking.k8s.aws", "v1alpha1", "targetgrouppolicies"),
}


def _fields(v):
    if isinstance(v, dict):
        out = {".": {}} if v else {}
        for k, x in v.items():
            out[f"f:{k}"] = _fields(x)
        return out
    return {}


def _defaulted(obj):
    obj = json.loads(json.dumps(obj))
    spec = obj["spec"]
    if obj["kind"] == "HTTPRoute":
        for p in spec["parentRefs"]:
            p.setdefault("group", "gateway.networking.k8s.io")
            p.setdefault("kind", "Gateway")
        for r in spec["rules"]:
            for b in r["backendRefs"]:
                b.setdefault("group", "")
                b.setdefault("kind", "Service")
                b.setdefault("weight", 1)
    if obj["kind"] == "Gateway":
        for listener in spec["listeners"]:
            for k in listener["allowedRoutes"].get("kinds", []):
                k.setdefault("group", "gateway.networking.k8s.io")
    return obj


def _served(obj, rnd, generation=1):
    applied = json.dumps(obj, separators=(",", ":"), sort_keys=True)
    out = _defaulted(obj)
    md = out["metadata"]
    md.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = (
        applied + "\n")
    md["creationTimestamp"] = "2026-11-26T22:37:12Z"
    md["generation"] = generation
    md["resourceVersion"] = str(100000 + rnd.randrange(900000))
    md["uid"] = _uid(rnd)
    md["managedFields"] = [{
        "apiVersion": obj["apiVersion"],
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": _fields({k: v for k, v in md.items()
                                            if k in ("annotations", "labels")}),
                     "f:spec": _fields(obj["spec"])},
        "manager": "kubectl-client-side-apply",
        "operation": "Update",
        "time": "2026-11-26T22:37:12Z",
    }]
    return out


def _uid(rnd):
    h = "%032x" % rnd.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def review(rnd, operation, obj, old=None):
    group, version, resource = GVR[obj["kind"]]
    gvk = {"group": group, "version": version, "kind": obj["kind"]}
    gvr = {"group": group, "version": version, "resource": resource}
    return {
        "kind": "AdmissionReview",
        "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": _uid(rnd),
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
            "operation": operation,
            "userInfo": {"username": "admin",
                         "groups": ["system:masters", "system:authenticated"]},
            "object": obj,
            "oldObject": old,
            "dryRun": False,
            "options": {"kind": f"{operation.title()}Options", "apiVersion": "meta.k8s.io/v1",
                        "fieldManager": "kubectl-client-side-apply"},
        },
    }


# ---------------------------------------------------------------------------------------------


def build(objects, namespaces, seed):
    """Returns ({namespace: [objects]}, an app in a production namespace).

    Cluster-scoped objects go under ''. The returned app is the one the AdmissionReview bodies
    use, so a review exercises the production-namespace (auth) lookups too.
    """
    rnd = random.Random(seed)
    fixed = 4 + namespaces  # GatewayClass, Namespace lattice-system, Gateway, IAMAuthPolicy
    apps = max(1, -(-(objects - fixed) // 4))
    by_ns = {"": [gateway_class(), namespace(GATEWAY_NS, "platform", True)],
             GATEWAY_NS: [gateway(), gateway_auth_policy()]}
    names = []
    for i in range(namespaces):
        team = TEAMS[i % len(TEAMS)]
        name = f"{team}-{i:03d}"
        names.append((name, team))
        by_ns[""].append(namespace(name, team, production=(i % 2 == 0)))
        by_ns[name] = []
    held = None
    for i in range(apps):
        ns, team = names[i % namespaces]
        app = App(rnd, i, ns, team)
        by_ns[ns] += [app.deployment(), app.service(), app.route(), app.tgp()]
        if (i % namespaces) % 2 == 0:
            held = app
    return by_ns, held


def write_reviews(directory, by_ns, app, seed):
    rnd = random.Random(seed + 1)
    os.makedirs(directory, exist_ok=True)
    gw_old = _served(gateway(), rnd)
    gw_new = json.loads(json.dumps(gw_old))
    gw_new["metadata"]["labels"]["platform.example.com/owner"] = "networking"
    gw_new["metadata"]["generation"] = 1
    bodies = {
        "httproute-create.json": review(rnd, "CREATE", _served(app.route(), rnd)),
        "targetgrouppolicy-create.json": review(rnd, "CREATE", _served(app.tgp(), rnd)),
        "gateway-update.json": review(rnd, "UPDATE", gw_new, gw_old),
    }
    for name, body in bodies.items():
        with open(os.path.join(directory, name), "w") as f:
            json.dump(body, f, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=18000, help="minimum object count")
    ap.add_argument("--namespaces", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    dest = ap.add_mutually_exclusive_group(required=True)
    dest.add_argument("--out", help="write one multi-document YAML file")
    dest.add_argument("--dir", help="write one YAML file per namespace into this directory")
    ap.add_argument("--reviews", help="with --dir: write AdmissionReview bodies here")
    args = ap.parse_args()
    if args.reviews and not args.dir:
        ap.error("--reviews needs --dir")
    if args.namespaces < 1:
        ap.error("--namespaces must be >= 1")

    by_ns, held = build(args.objects, args.namespaces, args.seed)
    if args.reviews:
        # The CREATE bodies are for objects the cluster does not have yet.
        by_ns[held.ns] = [o for o in by_ns[held.ns]
                          if not (o["kind"] in ("HTTPRoute", "TargetGroupPolicy")
                                  and o["metadata"]["name"] in (held.name, held.name + "-tgp"))]
        write_reviews(args.reviews, by_ns, held, args.seed)

    count = 0
    size = 0
    if args.out:
        with open(args.out, "w") as f:
            for ns in by_ns:
                for o in by_ns[ns]:
                    text = ("---\n" if count else "") + to_yaml(o)
                    f.write(text)
                    size += len(text)
                    count += 1
    else:
        os.makedirs(args.dir, exist_ok=True)
        for i, ns in enumerate(by_ns):
            docs = [to_yaml(o) for o in by_ns[ns]]
            if not docs:
                continue
            text = "---\n".join(docs)
            with open(os.path.join(args.dir, f"{i:04d}-{ns or 'cluster'}.yaml"), "w") as f:
                f.write(text)
            size += len(text)
            count += len(docs)
    print(f"objects={count} bytes={size}", file=sys.stderr)


if __name__ == "__main__":
    main()
