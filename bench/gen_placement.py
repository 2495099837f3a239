#!/usr/bin/env python3
"""Generates placement problems (fedbroker-placement-instance/1) for tests
and benchmarks: regions at real metros, real egress prices and measured
latencies from bench/data (copied from the reference catalog), several
services per region, applications with a home metro, a latency SLO and
sometimes data residency, links mostly inside an application, and per-offer
vCPU capacities tight enough that the cheapest offer is often full.

Deterministic from --seed. Sizes are WxO (workloads x offers), e.g. 100x200.

  gen_placement.py --size 100x200 --links 100 --seed 1 -o inst.json
  gen_placement.py --size 12x10 --links 10 --groups --budgets --pairs 4

The instance is feasible by construction: a witness plan is built while
capacities are set, and every extension constraint (--groups, --budgets,
--pairs) is drawn so that the witness satisfies it.
"""
import argparse
import csv
import json
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

# Regions in the order instances take them (the most used first, AWS and GCP
# interleaved): (provider:region, metro, lat, lon, continent).
REGIONS = [
    ("aws:us-east-1", "Ashburn", 39.04, -77.49, "NA"),
    ("gcp:us-east4", "Ashburn", 39.04, -77.49, "NA"),
    ("aws:eu-central-1", "Frankfurt", 50.11, 8.68, "EU"),
    ("gcp:europe-west3", "Frankfurt", 50.11, 8.68, "EU"),
    ("aws:us-west-2", "Boardman", 45.84, -119.70, "NA"),
    ("gcp:us-west1", "The Dalles", 45.60, -121.18, "NA"),
    ("aws:eu-west-1", "Dublin", 53.35, -6.26, "EU"),
    ("gcp:europe-west1", "St. Ghislain", 50.47, 3.82, "EU"),
    ("aws:us-east-2", "Columbus", 39.96, -83.00, "NA"),
    ("gcp:us-central1", "Council Bluffs", 41.26, -95.86, "NA"),
    ("aws:eu-west-2", "London", 51.51, -0.13, "EU"),
    ("gcp:europe-west2", "London", 51.51, -0.13, "EU"),
    ("aws:ap-northeast-1", "Tokyo", 35.68, 139.69, "AS"),
    ("gcp:asia-northeast1", "Tokyo", 35.68, 139.69, "AS"),
    ("aws:ap-southeast-1", "Singapore", 1.35, 103.82, "AS"),
    ("gcp:asia-southeast1", "Singapore", 1.35, 103.82, "AS"),
    ("aws:eu-west-3", "Paris", 48.86, 2.35, "EU"),
    ("gcp:europe-west9", "Paris", 48.86, 2.35, "EU"),
    ("aws:us-west-1", "San Jose", 37.34, -121.89, "NA"),
    ("gcp:us-east1", "Moncks Corner", 33.20, -80.01, "NA"),
    ("aws:ca-central-1", "Montreal", 45.50, -73.57, "NA"),
    ("gcp:northamerica-northeast1", "Montreal", 45.50, -73.57, "NA"),
    ("aws:eu-north-1", "Stockholm", 59.33, 18.07, "EU"),
    ("gcp:europe-west4", "Eemshaven", 53.44, 6.83, "EU"),
    ("aws:ap-southeast-2", "Sydney", -33.87, 151.21, "OC"),
    ("gcp:australia-southeast1", "Sydney", -33.87, 151.21, "OC"),
    ("aws:ap-south-1", "Mumbai", 19.08, 72.88, "AS"),
    ("gcp:asia-south1", "Mumbai", 19.08, 72.88, "AS"),
    ("aws:sa-east-1", "Sao Paulo", -23.55, -46.63, "SA"),
    ("gcp:southamerica-east1", "Sao Paulo", -23.55, -46.63, "SA"),
    ("aws:ap-northeast-2", "Seoul", 37.57, 126.98, "AS"),
    ("gcp:asia-northeast3", "Seoul", 37.57, 126.98, "AS"),
    ("aws:eu-south-1", "Milan", 45.46, 9.19, "EU"),
    ("gcp:europe-west8", "Milan", 45.46, 9.19, "EU"),
    ("aws:eu-central-2", "Zurich", 47.38, 8.54, "EU"),
    ("gcp:europe-west6", "Zurich", 47.38, 8.54, "EU"),
    ("aws:ap-northeast-3", "Osaka", 34.69, 135.50, "AS"),
    ("gcp:asia-northeast2", "Osaka", 34.69, 135.50, "AS"),
    ("aws:ap-east-1", "Hong Kong", 22.32, 114.17, "AS"),
    ("gcp:asia-east2", "Hong Kong", 22.32, 114.17, "AS"),
    ("aws:eu-south-2", "Zaragoza", 41.65, -0.89, "EU"),
    ("gcp:europe-southwest1", "Madrid", 40.42, -3.70, "EU"),
    ("aws:ca-west-1", "Calgary", 51.05, -114.07, "NA"),
    ("gcp:northamerica-northeast2", "Toronto", 43.65, -79.38, "NA"),
    ("aws:ap-southeast-4", "Melbourne", -37.81, 144.96, "OC"),
    ("gcp:australia-southeast2", "Melbourne", -37.81, 144.96, "OC"),
    ("aws:ap-southeast-3", "Jakarta", -6.21, 106.85, "AS"),
    ("gcp:asia-southeast2", "Jakarta", -6.21, 106.85, "AS"),
    ("aws:ap-south-2", "Hyderabad", 17.39, 78.49, "AS"),
    ("gcp:asia-south2", "Delhi", 28.61, 77.21, "AS"),
    ("aws:il-central-1", "Tel Aviv", 32.09, 34.78, "ME"),
    ("gcp:me-west1", "Tel Aviv", 32.09, 34.78, "ME"),
    ("aws:me-central-1", "Dubai", 25.20, 55.27, "ME"),
    ("gcp:me-central1", "Doha", 25.29, 51.53, "ME"),
    ("aws:af-south-1", "Cape Town", -33.92, 18.42, "AF"),
    ("gcp:africa-south1", "Johannesburg", -26.20, 28.05, "AF"),
    ("aws:me-south-1", "Manama", 26.23, 50.59, "ME"),
    ("gcp:me-central2", "Dammam", 26.42, 50.09, "ME"),
    ("aws:mx-central-1", "Queretaro", 20.59, -100.39, "NA"),
    ("gcp:us-south1", "Dallas", 32.78, -96.80, "NA"),
    ("aws:ap-southeast-5", "Kuala Lumpur", 3.14, 101.69, "AS"),
    ("gcp:asia-east1", "Changhua", 24.08, 120.54, "AS"),
    ("aws:ap-southeast-7", "Bangkok", 13.76, 100.50, "AS"),
    ("gcp:us-west2", "Los Angeles", 34.05, -118.24, "NA"),
    ("gcp:us-west3", "Salt Lake City", 40.76, -111.89, "NA"),
    ("gcp:us-west4", "Las Vegas", 36.17, -115.14, "NA"),
    ("gcp:us-east5", "Columbus", 39.96, -83.00, "NA"),
    ("gcp:europe-west10", "Berlin", 52.52, 13.40, "EU"),
    ("gcp:europe-west12", "Turin", 45.07, 7.69, "EU"),
    ("gcp:europe-central2", "Warsaw", 52.23, 21.01, "EU"),
    ("gcp:europe-north1", "Hamina", 60.57, 27.20, "EU"),
    ("gcp:southamerica-west1", "Santiago", -33.45, -70.67, "SA"),
]

# Always-on USD per vCPU-month (730 h, 2 GB of memory per vCPU), derived from
# catalog rows: Lambda 1 vCPU per 1,769 MB at 0.0000166667 (x86) and
# 0.0000133334 (arm64) USD/GB-s (S2); Fargate 0.04048 USD/vCPU-h + 0.004445
# USD/GB-h, arm64 0.03238 + 0.00356 (S1b), Spot at the sa-east-1 ratio
# 0.02337/0.0696 (S9); Kubernetes nodes at OpenCost's 0.031611 USD/vCPU-h +
# 0.004237 USD/GB-h, spot 0.006655 + 0.000892 (S7), divided by 0.7 node
# utilisation (assumption); Cloud Run request-based 0.000024 USD/vCPU-s +
# 0.0000025 USD/GiB-s, instance-based 0.000018 + 0.000002 (S4); Cloud
# Functions 2nd gen bills at Cloud Run request-based rates (S5); GKE
# Autopilot 0.0445 USD/vCPU-h + 0.0049225 USD/GB-h (S1h).
# (service, kind, base USD/vCPU-month, billing, needs)
SERVICES = {
    "aws": [
        ("lambda", "function", 77.48, "usage", ""),
        ("fargate", "container", 36.04, "always", ""),
        ("eks", "k8s", 41.80, "always", ""),
        ("lambda-arm64", "function", 61.99, "usage", "arm"),
        ("fargate-arm64", "container", 28.84, "always", "arm"),
        ("fargate-spot", "container", 12.10, "always", "spot"),
        ("eks-spot", "k8s", 8.80, "always", "spot"),
    ],
    "gcp": [
        ("cloud-functions", "function", 76.21, "usage", ""),
        ("cloud-run", "container", 76.21, "request", ""),
        ("gke-autopilot", "k8s", 39.67, "always", ""),
        ("cloud-run-instance", "container", 57.82, "always", ""),
        ("gke-standard", "k8s", 41.80, "always", ""),
        ("gke-spot", "k8s", 8.80, "always", "spot"),
        ("gke-autopilot-arm64", "k8s", 35.70, "always", "arm"),
    ],
}
# Regional price level relative to us-east-1 (assumption, in line with the
# catalog's sa-east-1 Fargate at 1.72x us-east-1).
CONTINENT_FACTOR = {"NA": 1.00, "EU": 1.06, "AS": 1.12, "OC": 1.15, "SA": 1.60, "ME": 1.18, "AF": 1.25}
# Which service kinds a workload kind runs on.
RUNS_ON = {"function": ("function", "container", "k8s"), "service": ("container", "k8s"), "stateful": ("k8s",)}


def load_latency():
    lat = {}
    with open(os.path.join(DATA, "latency_ms.csv")) as f:
        for row in csv.DictReader(f):
            lat[(row["from"], row["to"])] = float(row["rtt_ms"])
    return lat


def load_egress():
    """Per region: (inter-region within provider, internet) USD/GiB from the
    catalog rows; per AWS region also special inter-region targets."""
    aws_inter, aws_special, internet = {}, {}, {}
    gcp_pairs = {}
    with open(os.path.join(DATA, "egress_prices.csv")) as f:
        for row in csv.DictReader(f):
            p, reg, metric, var = row["provider"], row["region"], row["sku_metric"], row["variant"]
            price = row["usd_per_unit"]
            if p == "aws" and metric == "egress_inter_region":
                if var == "to any other AWS region":
                    aws_inter[reg] = price
                elif var.startswith("to "):
                    for t in var[3:].split("/"):
                        aws_special[(reg, t)] = price
            elif p == "aws" and metric == "egress_internet" and row["tier_start"] == "0":
                internet["aws:" + reg] = price
            elif p == "gcp" and metric == "egress_internet" and row["tier_start"] == "0" \
                    and var == "premium/worldwide":
                internet["gcp:" + reg] = price
            elif p == "gcp" and row["service"] == "network-inter-region" and reg == "continent pair":
                gcp_pairs[var] = price
    return aws_inter, aws_special, internet, gcp_pairs


def haversine_km(a, b):
    la1, lo1, la2, lo2 = map(math.radians, (a[2], a[3], b[2], b[3]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def rtt(lat, a, b):
    """Measured p50 RTT when the catalog has it, else an estimate from the
    great-circle distance (fibre at 200,000 km/s, route factor 1.35, 2 ms of
    edge): the catalog has no cross-provider measurements (assumption)."""
    if a[0] == b[0]:
        return lat.get((a[0], b[0]), 2.0)
    v = lat.get((a[0], b[0])) or lat.get((b[0], a[0]))
    if v is not None:
        return v
    return round(2.0 + haversine_km(a, b) * 0.0135, 1)


def gcp_pair_price(gcp_pairs, ca, cb):
    ap = {"AS", "ME"}
    if ca == "OC" and cb == "OC":
        return gcp_pairs.get("Oceania to Oceania", "0.08")
    if ca == "OC" or cb == "OC":
        return gcp_pairs.get("to/from Oceania", "0.15")
    if ca == cb == "NA":
        return gcp_pairs.get("Northern America to Northern America", "0.01")
    if ca == cb == "EU":
        return gcp_pairs.get("Europe to Europe", "0.02")
    if ca in ap and cb in ap:
        return gcp_pairs.get("Asia-Pacific to Asia-Pacific", "0.05")
    return gcp_pairs.get("Intercontinental excl. Oceania", "0.08")


def egress_matrix(regs, eg):
    aws_inter, aws_special, internet, gcp_pairs = eg
    n = len(regs)
    m = [[0.0] * n for _ in range(n)]
    for i, a in enumerate(regs):
        pa, ra = a[0].split(":")
        for j, b in enumerate(regs):
            if i == j:
                continue
            pb, rb = b[0].split(":")
            if pa != pb:
                # Leaving one cloud for another is internet egress of the
                # source (first tier); 0.09 (AWS) / 0.12 (GCP) where the
                # catalog has no row for the region (assumption).
                price = internet.get(a[0], "0.09" if pa == "aws" else "0.12")
            elif pa == "aws":
                price = aws_special.get((ra, rb), aws_inter.get(ra, "0.02"))
            else:
                price = gcp_pair_price(gcp_pairs, a[4], b[4])
            m[i][j] = float(price)
    return m


def pick_weighted(rng, items, weights):
    t = rng.random() * sum(weights)
    for it, w in zip(items, weights):
        t -= w
        if t <= 0:
            return it
    return items[-1]


def generate(nw, no, nlinks, seed, groups=False, budgets=False, npairs=0, tight=1.0):
    rng = random.Random(seed)
    lat = load_latency()
    eg = load_egress()
    per = max(3, min(7, -(-no // 40)))
    nreg = min(len(REGIONS), -(-no // per))
    regs = REGIONS[:nreg]
    # Offers: region-major, `per` services per region until `no` offers.
    offers = []
    for ri, r in enumerate(regs):
        prov = r[0].split(":")[0]
        for s in SERVICES[prov][:per]:
            if len(offers) < no:
                offers.append({"region": ri, "provider": prov, "service": s[0], "kind": s[1],
                               "base": s[2], "billing": s[3], "needs": s[4]})
    if len(offers) < no:
        sys.exit("gen_placement: at most %d offers with %d services per region" % (len(offers), per))
    egress = egress_matrix(regs, eg)
    # Applications.
    apps = []
    w_app = []
    home_w = [1.0 / (i + 3) for i in range(nreg)]
    while len(w_app) < nw:
        size = min(nw - len(w_app), rng.randint(2, 10))
        home = pick_weighted(rng, list(range(nreg)), home_w)
        slo = pick_weighted(rng, [15, 30, 60, 100], [0.1, 0.3, 0.35, 0.25])
        cont = regs[home][4]
        residency = None
        if cont == "EU" and rng.random() < 0.3:
            residency = "EU"
        elif cont == "NA" and rng.random() < 0.1:
            residency = "NA"
        while True:
            feas = [ri for ri in range(nreg)
                    if rtt(lat, regs[home], regs[ri]) <= slo and (residency is None or regs[ri][4] == residency)]
            if len(feas) >= 2 or slo > 400:
                break
            slo = int(slo * 1.5)
        if not feas:
            feas = [home]
        apps.append({"home": home, "slo": slo, "residency": residency, "regions": feas})
        w_app.extend([len(apps) - 1] * size)
    # Workloads and their feasible offers with costs.
    workloads = []
    for wi in range(nw):
        a = apps[w_app[wi]]
        kind = pick_weighted(rng, ["function", "service", "stateful"], [0.4, 0.4, 0.2])
        demand = pick_weighted(rng, [0.25, 0.5, 1, 2, 4, 8], [0.2, 0.25, 0.25, 0.15, 0.1, 0.05])
        duty = math.exp(rng.uniform(math.log(0.02), 0.0))
        arm = rng.random() < 0.5
        spot = rng.random() < 0.3
        feas = set(a["regions"])
        cost = {}
        for oi, o in enumerate(offers):
            if o["region"] not in feas or o["kind"] not in RUNS_ON[kind]:
                continue
            if (o["needs"] == "arm" and not arm) or (o["needs"] == "spot" and not spot):
                continue
            f = CONTINENT_FACTOR[regs[o["region"]][4]]
            if o["billing"] == "usage":
                # Pay per use: duty cycle, plus 0.20 USD per million requests
                # at 2 requests per second per busy vCPU (S3).
                c = o["base"] * demand * duty + 0.2 * demand * duty * 2 * 2.628
            elif o["billing"] == "request":
                c = o["base"] * demand * max(duty, 0.15)
            else:
                c = o["base"] * demand
            c *= f * rng.uniform(0.97, 1.03)
            cost[oi] = round(c, 6)
        if not cost:
            # Always leave one option: the k8s offer of the home region.
            for oi, o in enumerate(offers):
                if o["region"] == a["home"] and o["kind"] == "k8s" and not o["needs"]:
                    cost[oi] = round(o["base"] * demand * CONTINENT_FACTOR[regs[a["home"]][4]], 6)
                    break
        if not cost:
            oi = min(i for i, o in enumerate(offers) if o["region"] in feas)
            cost[oi] = round(offers[oi]["base"] * demand, 6)
        workloads.append({"demand": demand, "cost": cost, "kind": kind, "duty": duty, "app": w_app[wi]})
    # Capacities: a fraction of what would land there if every workload took
    # its cheapest offer, so the cheapest offer is often full.
    cheap = [0.0] * no
    reach = [0.0] * no
    for w in workloads:
        best = min(w["cost"], key=lambda o: w["cost"][o])
        cheap[best] += w["demand"]
        for o in w["cost"]:
            reach[o] += w["demand"] / len(w["cost"])
    # Quotas come in whole nodes / quota steps of 4 vCPU (assumption).
    cap = []
    for oi in range(no):
        if cheap[oi] > 0:
            c = cheap[oi] * rng.uniform(0.35, 0.9) * tight
        else:
            c = reach[oi] * rng.uniform(0.5, 1.5) * tight
        cap.append(max(0, 4 * math.ceil(c / 4)))
    # Witness: largest demand first onto the cheapest option with room;
    # capacity is raised where nothing fits, so the instance is feasible.
    order = sorted(range(nw), key=lambda i: (-workloads[i]["demand"], i))
    load = [0.0] * no
    witness = [None] * nw
    for wi in order:
        w = workloads[wi]
        opts = sorted(w["cost"], key=lambda o: (w["cost"][o], o))
        pick = next((o for o in opts if load[o] + w["demand"] <= cap[o]), None)
        if pick is None:
            pick = opts[0]
            cap[pick] = 4 * math.ceil((load[pick] + w["demand"]) / 4)
        load[pick] += w["demand"]
        witness[wi] = pick
    # Links: mostly inside an application.
    by_app = {}
    for wi, w in enumerate(workloads):
        by_app.setdefault(w["app"], []).append(wi)
    multi = [a for a in by_app if len(by_app[a]) >= 2]
    links = []
    while len(links) < nlinks and nw >= 2:
        if multi and rng.random() < 0.9:
            members = by_app[rng.choice(multi)]
            a, b = rng.sample(members, 2)
        else:
            a, b = rng.sample(range(nw), 2)
        vol = min(5000.0, max(1.0, math.exp(rng.gauss(math.log(40), 1.2))))
        links.append({"id": len(links), "from": a, "to": b, "volume_gib_month": round(vol, 3)})
    doc = {
        "format": "fedbroker-placement-instance/1",
        "units": {"cost": "USD/month", "demand": "vCPU", "capacity": "vCPU", "volume": "GiB/month",
                  "egress_price": "USD/GiB", "latency": "ms round trip"},
        "objective": "minimise sum of workload costs + sum of link volume x egress price",
        "generator": {"name": "bench/gen_placement.py", "seed": seed, "size": "%dx%d" % (nw, no),
                      "links": nlinks},
        "regions": [],
        "egress_price": egress,
        "offers": [],
        "workloads": [],
        "links": links,
    }
    eg_inter, _, eg_internet, _ = eg
    for ri, r in enumerate(regs):
        prov, name = r[0].split(":")
        doc["regions"].append({"id": ri, "name": r[0], "provider": prov, "continent": r[4], "metro": r[1],
                               "lat": r[2], "lon": r[3],
                               "egress_usd_per_gib": {"same_region": 0,
                                                      "internet": float(eg_internet.get(r[0], "0.09" if prov == "aws" else "0.12"))}})
    for oi, o in enumerate(offers):
        doc["offers"].append({"id": oi, "provider": o["provider"], "service": o["service"], "kind": o["kind"],
                              "region": o["region"], "capacity_vcpu": cap[oi]})
    for wi, w in enumerate(workloads):
        a = apps[w["app"]]
        doc["workloads"].append({"id": wi, "demand_vcpu": w["demand"],
                                 "cost": {str(o): c for o, c in sorted(w["cost"].items())},
                                 "app": "app%d" % w["app"], "kind": w["kind"],
                                 "home_metro": regs[a["home"]][1], "latency_slo_ms": a["slo"],
                                 "residency": a["residency"]})
    wregion = [offers[witness[wi]]["region"] for wi in range(nw)]
    if groups:
        # Per-region vCPU quotas over all services of a region.
        doc["capacity_groups"] = []
        for ri in range(nreg):
            offs = [oi for oi, o in enumerate(offers) if o["region"] == ri]
            used = sum(workloads[wi]["demand"] for wi in range(nw) if wregion[wi] == ri)
            total = sum(cap[o] for o in offs)
            if used <= 0 or len(offs) < 2:
                continue
            q = math.ceil(max(used, min(total, used * rng.uniform(1.0, 1.3))))
            if q < total:
                doc["capacity_groups"].append({"name": "quota %s" % regs[ri][0], "measure": "vcpu",
                                               "capacity": q, "offers": offs})
        # And one instance-count quota.
        ri = wregion[0]
        offs = [oi for oi, o in enumerate(offers) if o["region"] == ri]
        cnt = sum(1 for wi in range(nw) if wregion[wi] == ri)
        doc["capacity_groups"].append({"name": "instances %s" % regs[ri][0], "measure": "count",
                                       "capacity": cnt + rng.randint(0, 1), "offers": offs})
    if budgets:
        doc["budgets"] = []
        for ai, members in sorted(by_app.items()):
            spent = sum(workloads[wi]["cost"][witness[wi]] for wi in members)
            doc["budgets"].append({"name": "app%d" % ai, "workloads": members,
                                   "budget_usd": round(spent * rng.uniform(1.0, 1.15) + 0.000001, 6)})
    if npairs:
        doc["pair_constraints"] = []
        tries = 0
        while len(doc["pair_constraints"]) < npairs and tries < 1000 * npairs:
            tries += 1
            members = by_app[rng.choice(multi)] if multi else list(range(nw))
            if len(members) < 2:
                continue
            a, b = rng.sample(members, 2)
            oa, ob = witness[a], witness[b]
            ra, rb = offers[oa]["region"], offers[ob]["region"]
            kind = rng.choice(["same_region", "different_region", "different_provider", "forbidden_offers"])
            q = {"type": kind, "a": a, "b": b}
            if kind == "same_region" and ra != rb:
                continue
            if kind == "different_region" and ra == rb:
                continue
            if kind == "different_provider" and offers[oa]["provider"] == offers[ob]["provider"]:
                continue
            if kind == "forbidden_offers":
                pairs = [[x, y] for x in workloads[a]["cost"] for y in workloads[b]["cost"]
                         if (x, y) != (oa, ob) and offers[x]["region"] != offers[y]["region"]]
                if not pairs:
                    continue
                rng.shuffle(pairs)
                q["pairs"] = sorted(pairs[:max(1, len(pairs) // 2)])
            doc["pair_constraints"].append(q)
    witness_total = sum(workloads[wi]["cost"][witness[wi]] for wi in range(nw))
    witness_total += sum(l["volume_gib_month"] * egress[wregion[l["from"]]][wregion[l["to"]]] for l in links)
    full = sum(1 for oi in range(no) if cheap[oi] > cap[oi])
    doc["stats"] = {"cheapest_offer_over_capacity": full, "offers_somebody_prefers": sum(1 for x in cheap if x > 0),
                    "regions": nreg, "offers": no, "workloads": nw, "links": len(links),
                    "options": sum(len(w["cost"]) for w in workloads),
                    "witness_total_usd_approx": round(witness_total, 2)}
    return doc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", required=True, help="WxO, e.g. 100x200")
    ap.add_argument("--links", type=int, default=None, help="number of links (default: W)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--groups", action="store_true", help="add per-region quotas (capacity_groups)")
    ap.add_argument("--budgets", action="store_true", help="add per-application budgets")
    ap.add_argument("--pairs", type=int, default=0, help="add this many pair constraints")
    ap.add_argument("--tight", type=float, default=1.0, help="scale capacities (smaller is tighter)")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    try:
        nw, no = (int(x) for x in a.size.lower().split("x"))
    except ValueError:
        ap.error("--size must be WxO, e.g. 100x200")
    doc = generate(nw, no, nw if a.links is None else a.links, a.seed, a.groups, a.budgets, a.pairs, a.tight)
    text = json.dumps(doc, separators=(",", ":"))
    if a.output == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(a.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
