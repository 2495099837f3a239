#!/usr/bin/env python3
"""Generates placement problems (fedbroker-placement-instance/1) in several
*families* that differ where bench/gen_placement.py does not vary: link
volume (compute- to egress-dominated), link topology (inside applications,
chains, hubs, all-to-all in small groups), quota tightness (loose to every
preferred offer over quota), SLO tightness (share of the regions an
application may use), residency share and the number of regions per
provider. Regions, services, prices, egress and latencies are the same real
data gen_placement.py reads (bench/data).

Deterministic from --seed (and the family, size and link count).

  gen_families.py --family egress --size 1000x500 --links 1000 --seed 3 -o f.json
  gen_families.py --list

Every instance is feasible by construction: a witness plan is built while
the capacities are set (a capacity is raised where the witness needs it).
"""
import argparse
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_placement as gp  # noqa: E402  (shared region, price and latency data)

# volume: ("lognormal", median GiB) or ("loguniform", lo, hi)
# topology: app (random pairs inside an application), chain, hub, clique
# quota: capacity of a preferred offer as a fraction of the demand that
#        prefers it (lo, hi); < 1 everywhere means every cheapest offer is
#        over quota
# admit: share of the regions (nearest to the application's home first) its
#        SLO admits
# residency: share of applications restricted to their home continent
# per: services per region (fewer services = more regions per provider)
FAMILIES = {
    "compute": dict(volume=("lognormal", 40.0), topology="app", quota=(0.8, 1.6), admit=0.6,
                    residency=0.1, per=5),
    "egress": dict(volume=("loguniform", 1.0, 5000.0), topology="app", quota=(0.4, 1.0), admit=0.3,
                   residency=0.2, per=5),
    "chains": dict(volume=("loguniform", 1.0, 5000.0), topology="chain", quota=(0.3, 0.7), admit=0.3,
                   residency=0.1, per=4),
    "hubs": dict(volume=("loguniform", 1.0, 5000.0), topology="hub", quota=(0.5, 1.2), admit=0.45,
                 residency=0.5, per=6),
    "cliques": dict(volume=("loguniform", 1.0, 5000.0), topology="clique", quota=(0.3, 0.7), admit=0.3,
                    residency=0.2, per=7),
    "spread": dict(volume=("loguniform", 1.0, 5000.0), topology="app", quota=(0.3, 0.7), admit=0.3,
                   residency=0.0, per=3),
}


def draw_volume(rng, spec):
    if spec[0] == "lognormal":
        v = math.exp(rng.gauss(math.log(spec[1]), 1.2))
    else:
        v = math.exp(rng.uniform(math.log(spec[1]), math.log(spec[2])))
    return round(min(5000.0, max(1.0, v)), 3)


def topology_pairs(rng, topo, members):
    """The links an application's topology asks for (ordered pairs)."""
    m = list(members)
    if len(m) < 2:
        return []
    if topo == "chain":
        return [(m[i], m[i + 1]) for i in range(len(m) - 1)]
    if topo == "hub":
        hub = m[0]
        return [(w, hub) if rng.random() < 0.5 else (hub, w) for w in m[1:]]
    if topo == "clique":
        groups = [m[i:i + 3] for i in range(0, len(m), 3)]
        if len(groups) > 1 and len(groups[-1]) == 1:
            last = groups.pop()
            groups[-1] += last
        return [(a, b) for g in groups for k, a in enumerate(g) for b in g[k + 1:]]
    # app: random pairs inside the application, about one per member
    return [tuple(rng.sample(m, 2)) for _ in range(len(m))]


def generate(family, nw, no, nlinks, seed):
    f = FAMILIES[family]
    rng = random.Random("%s:%d:%d:%d:%d" % (family, nw, no, nlinks, seed))
    lat = gp.load_latency()
    eg = gp.load_egress()
    per = f["per"]
    nreg = min(len(gp.REGIONS), -(-no // per))
    per = -(-no // nreg)
    regs = gp.REGIONS[:nreg]
    offers = []
    for ri, r in enumerate(regs):
        prov = r[0].split(":")[0]
        svc = gp.SERVICES[prov]
        # Always the general-purpose services first, then a random pick of
        # the rest, so regions differ in what they offer.
        rest = svc[3:]
        rng.shuffle(rest)
        for s in (svc[:3] + rest)[:per]:
            if len(offers) < no:
                offers.append({"region": ri, "provider": prov, "service": s[0], "kind": s[1],
                               "base": s[2], "billing": s[3], "needs": s[4]})
    if len(offers) < no:
        sys.exit("gen_families: at most %d offers with %d regions" % (len(offers), nreg))
    egress = gp.egress_matrix(regs, eg)
    # Applications: a home region, the nearest share `admit` of the regions
    # (within the residency continent when restricted).
    apps, w_app = [], []
    home_w = [1.0 / (i + 3) for i in range(nreg)]
    while len(w_app) < nw:
        size = min(nw - len(w_app), rng.randint(2, 10))
        home = gp.pick_weighted(rng, list(range(nreg)), home_w)
        residency = regs[home][4] if rng.random() < f["residency"] else None
        cand = [ri for ri in range(nreg) if residency is None or regs[ri][4] == residency]
        cand.sort(key=lambda ri: (gp.rtt(lat, regs[home], regs[ri]), ri))
        k = max(2, int(round(f["admit"] * nreg)))
        feas = cand[:k]
        slo = gp.rtt(lat, regs[home], regs[feas[-1]])
        apps.append({"home": home, "slo": slo, "residency": residency, "regions": feas})
        w_app.extend([len(apps) - 1] * size)
    workloads = []
    for wi in range(nw):
        a = apps[w_app[wi]]
        kind = gp.pick_weighted(rng, ["function", "service", "stateful"], [0.4, 0.4, 0.2])
        demand = gp.pick_weighted(rng, [0.25, 0.5, 1, 2, 4, 8], [0.2, 0.25, 0.25, 0.15, 0.1, 0.05])
        duty = math.exp(rng.uniform(math.log(0.02), 0.0))
        arm, spot = rng.random() < 0.5, rng.random() < 0.3
        feas = set(a["regions"])
        cost = {}
        for oi, o in enumerate(offers):
            if o["region"] not in feas or o["kind"] not in gp.RUNS_ON[kind]:
                continue
            if (o["needs"] == "arm" and not arm) or (o["needs"] == "spot" and not spot):
                continue
            fac = gp.CONTINENT_FACTOR[regs[o["region"]][4]]
            if o["billing"] == "usage":
                c = o["base"] * demand * duty + 0.2 * demand * duty * 2 * 2.628
            elif o["billing"] == "request":
                c = o["base"] * demand * max(duty, 0.15)
            else:
                c = o["base"] * demand
            cost[oi] = round(c * fac * rng.uniform(0.97, 1.03), 6)
        if not cost:
            # Stateful workloads need Kubernetes: the home region has it.
            for oi, o in enumerate(offers):
                if o["region"] == a["home"] and o["kind"] == "k8s" and not o["needs"]:
                    cost[oi] = round(o["base"] * demand * gp.CONTINENT_FACTOR[regs[a["home"]][4]], 6)
                    break
        workloads.append({"demand": demand, "cost": cost, "kind": kind, "app": w_app[wi]})
    # Quotas: a fraction of the demand that prefers the offer (4-vCPU steps).
    cheap = [0.0] * no
    reach = [0.0] * no
    for w in workloads:
        best = min(w["cost"], key=lambda o: (w["cost"][o], o))
        cheap[best] += w["demand"]
        for o in w["cost"]:
            reach[o] += w["demand"] / len(w["cost"])
    lo, hi = f["quota"]
    cap = []
    for oi in range(no):
        base = cheap[oi] if cheap[oi] > 0 else reach[oi]
        c = base * rng.uniform(lo, hi)
        # Strictly below the preferred demand when the family says so.
        if hi <= 1.0 and cheap[oi] > 0:
            c = min(c, cheap[oi] - 0.25)
            cap.append(max(0, 4 * math.floor(c / 4)) if c >= 4 else max(0.0, math.floor(c * 4) / 4))
        else:
            cap.append(max(0, 4 * math.ceil(c / 4)))
    # Links from the topology; applications are visited in a random order
    # until nlinks; then random pairs anywhere.
    by_app = {}
    for wi, w in enumerate(workloads):
        by_app.setdefault(w["app"], []).append(wi)
    order = list(by_app)
    rng.shuffle(order)
    pairs = []
    for ai in order:
        pairs += topology_pairs(rng, f["topology"], by_app[ai])
        if len(pairs) >= nlinks:
            break
    while len(pairs) < nlinks and nw >= 2:
        pairs.append(tuple(rng.sample(range(nw), 2)))
    links = [{"id": i, "from": a, "to": b, "volume_gib_month": draw_volume(rng, f["volume"])}
             for i, (a, b) in enumerate(pairs[:nlinks])]
    # Witness: per application, the region the application's links agree on
    # is not known here; largest demand first onto the cheapest option with
    # room, capacity raised where nothing fits.
    load = [0.0] * no
    witness = [None] * nw
    for wi in sorted(range(nw), key=lambda i: (-workloads[i]["demand"], i)):
        w = workloads[wi]
        opts = sorted(w["cost"], key=lambda o: (w["cost"][o], o))
        pick = next((o for o in opts if load[o] + w["demand"] <= cap[o]), None)
        if pick is None:
            # The cheapest-to-enlarge option: the one whose capacity needs
            # the smallest raise (ties: cheapest).
            pick = min(opts, key=lambda o: (load[o] + w["demand"] - cap[o], w["cost"][o], o))
            cap[pick] = 4 * math.ceil((load[pick] + w["demand"]) / 4)
        load[pick] += w["demand"]
        witness[wi] = pick
    doc = {
        "format": "fedbroker-placement-instance/1",
        "units": {"cost": "USD/month", "demand": "vCPU", "capacity": "vCPU", "volume": "GiB/month",
                  "egress_price": "USD/GiB", "latency": "ms round trip"},
        "objective": "minimise sum of workload costs + sum of link volume x egress price",
        "generator": {"name": "bench/gen_families.py", "family": family, "seed": seed,
                      "size": "%dx%d" % (nw, no), "links": nlinks, "params": {k: list(v) if isinstance(v, tuple) else v
                                                                          for k, v in f.items()}},
        "regions": [],
        "egress_price": egress,
        "offers": [],
        "workloads": [],
        "links": links,
    }
    for ri, r in enumerate(regs):
        prov = r[0].split(":")[0]
        doc["regions"].append({"id": ri, "name": r[0], "provider": prov, "continent": r[4], "metro": r[1]})
    for oi, o in enumerate(offers):
        doc["offers"].append({"id": oi, "provider": o["provider"], "service": o["service"], "kind": o["kind"],
                              "region": o["region"], "capacity_vcpu": cap[oi]})
    for wi, w in enumerate(workloads):
        a = apps[w["app"]]
        doc["workloads"].append({"id": wi, "demand_vcpu": w["demand"],
                                 "cost": {str(o): c for o, c in sorted(w["cost"].items())},
                                 "app": "app%d" % w["app"], "kind": w["kind"],
                                 "latency_slo_ms": a["slo"], "residency": a["residency"]})
    wreg = [offers[witness[wi]]["region"] for wi in range(nw)]
    compute = sum(workloads[wi]["cost"][witness[wi]] for wi in range(nw))
    egr = sum(l["volume_gib_month"] * egress[wreg[l["from"]]][wreg[l["to"]]] for l in links)
    nopt = sum(len(w["cost"]) for w in workloads)
    doc["stats"] = {"regions": nreg, "offers": no, "workloads": nw, "links": len(links), "options": nopt,
                    "options_per_workload": round(nopt / max(1, nw), 1),
                    "cheapest_offer_over_capacity": sum(1 for oi in range(no) if cheap[oi] > cap[oi]),
                    "offers_somebody_prefers": sum(1 for x in cheap if x > 0),
                    "witness_compute_usd": round(compute, 2), "witness_egress_usd": round(egr, 2)}
    return doc


def instance_file(out, family, size, seed):
    """The path of family's instance of size "NWxNO" and seed under out,
    written first (links = workloads, as every bench uses) when missing:
    the file every bench of the families solves."""
    nw, no = (int(x) for x in size.split("x"))
    path = os.path.join(out, "%s-%s-s%d.json" % (family, size, seed))
    if not os.path.exists(path):
        with open(path, "w") as fh:
            json.dump(generate(family, nw, no, nw, seed), fh, separators=(",", ":"))
    return path

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", choices=sorted(FAMILIES), help="instance family")
    ap.add_argument("--size", help="WxO, e.g. 1000x500")
    ap.add_argument("--links", type=int, default=None, help="number of links (default: W)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--list", action="store_true", help="print the families and their parameters")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    if a.list:
        for k in sorted(FAMILIES):
            print(k, json.dumps(FAMILIES[k]))
        return
    if not a.family or not a.size:
        ap.error("--family and --size are required (or --list)")
    try:
        nw, no = (int(x) for x in a.size.lower().split("x"))
    except ValueError:
        ap.error("--size must be WxO, e.g. 1000x500")
    if nw < 1 or no < 1:
        ap.error("--size: both numbers must be positive")
    doc = generate(a.family, nw, no, nw if a.links is None else a.links, a.seed)
    text = json.dumps(doc, separators=(",", ":"))
    if a.output == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(a.output, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
