"""What a cluster does on its own, in the fake: one thread that reacts to
writes (the API's hooks) and to timers.

  deployments   status advances: observedGeneration, replicas, updatedReplicas,
                readyReplicas, availableReplicas, conditions Available and
                Progressing, the deployment.kubernetes.io/revision annotation;
                after --rollout-delay-ms all replicas are available, or, when
                the control API says so, Progressing=False ProgressDeadlineExceeded
                after progressDeadlineSeconds x --deadline-scale
  knative       Service status: ConfigurationsReady, Ready, RoutesReady, latest
                created/ready revision names, url, address, traffic; or a failure
  endpoints     one EndpointSlice per Service with a selector, with one endpoint
                per available replica of the Deployments it selects; the last
                N of a Deployment's are not ready (ready and serving false, or
                terminating) when the control API says so; every slice written
                is decoded against the 1.36 OpenAPI first
  hpa           status.currentReplicas / desiredReplicas and conditions
  quota         ResourceQuota status.hard and status.used (object counts,
                requests/limits of the Deployments' pods)
  namespaces    the default ServiceAccount and kube-root-ca.crt ConfigMap; a
                terminating namespace is emptied, then removed
  gc            foreground deletion (dependents by ownerReferences first),
                orphaning, and background collection of dependents whose
                owners are gone
All writes are Update operations of "kube-controller-manager" (Knative's:
"controller") on the status subresource, as a real cluster records them.
"""
import copy
import hashlib
import heapq
import threading
import time

from . import kinds as K
from .schema import QuantityError, canonical_quantity, decode, now_rfc3339, quantity_value

ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template):
    """A pod-template-hash shaped like the controller's (FNV-32a, then
    rand.SafeEncodeString of its decimal form)."""
    import json
    data = json.dumps(template, sort_keys=True).encode()
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in str(h))


def _cond(conds, ctype, status, reason, message, now, update_time=True):
    """Set one condition in a list, keeping lastTransitionTime when the
    status does not change."""
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            c["status"] = status
            if update_time and "lastUpdateTime" in c:
                c["lastUpdateTime"] = now
            if reason is not None:
                c["reason"] = reason
            if message is not None:
                c["message"] = message
            return
    c = {"type": ctype, "status": status}
    if update_time:
        c["lastUpdateTime"] = now
    c["lastTransitionTime"] = now
    if reason is not None:
        c["reason"] = reason
    if message is not None:
        c["message"] = message
    conds.append(c)


def _set_counts(st, **counts):
    """Replica counts are omitempty: 0 is left out."""
    for k, v in counts.items():
        if v:
            st[k] = v
        else:
            st.pop(k, None)


def _quantity_text(v):
    """A Fraction as the canonical quantity string (nano precision, rounded up)."""
    n = v * 10 ** 9
    whole = n.numerator // n.denominator + (1 if n.numerator % n.denominator else 0)
    return canonical_quantity("%dn" % whole)


class Controllers:
    BATCH = 48

    def __init__(self, api, settings):
        self.api = api
        self.store = api.store
        self.settings = settings
        self.dirty = set()       # (kind key, ns, name)
        self.dirty_ns = set()
        self.gone_uids = set()
        self.timers = []         # heap of (due, item)
        self.state = {}          # uid -> rollout state
        self.deleting = {}       # uid -> time first seen deleting
        self.served_by = {}      # (ns, deployment) -> {(ns, service)} whose endpoints it gave
        self.dep_labels = {}     # (ns, deployment) -> its pod template labels when last seen
        self.slice_of = {}       # (ns, service) -> the name of its EndpointSlice
        api.hooks.append(self.hook)
        self.stop = threading.Event()

    def reset(self):
        self.dirty.clear()
        self.dirty_ns.clear()
        self.gone_uids.clear()
        self.timers = []
        self.state.clear()
        self.deleting.clear()
        self.served_by.clear()
        self.dep_labels.clear()
        self.slice_of.clear()

    def hook(self, kind, obj, event):
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace")
        self.dirty.add((self.api.key(kind), ns, meta.get("name")))
        if ns:
            self.dirty_ns.add(ns)
        if event == "DELETED":
            self.gone_uids.add(meta.get("uid"))
        if meta.get("deletionTimestamp"):
            self.deleting.setdefault(meta.get("uid"), time.time())
            self.schedule(self.settings.gc_delay, (self.api.key(kind), ns, meta.get("name")))

    def schedule(self, delay, item):
        heapq.heappush(self.timers, (time.time() + max(delay, 0), item))

    def start(self):
        t = threading.Thread(target=self._loop, daemon=True)
        t.start()
        return t

    def _loop(self):
        while not self.stop.is_set():
            time.sleep(0.02)
            try:
                with self.store.lock:
                    self.tick()
            except Exception:  # a controller bug must not kill the fake; it shows in stderr
                import traceback
                traceback.print_exc()

    def tick(self):
        """React to what changed: each dirty object's own controller, then the
        Services, HPAs and quotas that depend on changed Deployments and
        Services (not whole namespaces: a namespace may hold hundreds)."""
        now = time.time()
        while self.timers and self.timers[0][0] <= now:
            self.dirty.add(heapq.heappop(self.timers)[1])
        # a bounded batch per tick, so API requests do not wait long for the lock
        order = sorted(self.dirty, key=lambda x: (x[0], x[1] or "", x[2] or ""))
        items = set(order[:self.BATCH])
        self.dirty = set(order[self.BATCH:])
        namespaces = self.dirty_ns
        self.dirty_ns = set()
        gone = self.gone_uids
        self.gone_uids = set()
        svcs, hpas, deps = set(), set(), set()
        for kk, ns, name in sorted(items, key=lambda x: (x[0], x[1] or "", x[2] or "")):
            if kk == "/Service":
                svcs.add((ns, name))
            elif kk == "apps/Deployment":
                deps.add((ns, name))
            elif kk == "autoscaling/HorizontalPodAutoscaler":
                hpas.add((ns, name))
            kind = self.api.kind_by_key(kk)
            obj = self.store.get(kk, ns, name)
            if kind is None or obj is None:
                continue
            if obj["metadata"].get("deletionTimestamp"):
                self.finalize(kind, obj)
                continue
            if kk == "/Namespace":
                self.namespace(obj)
            elif kk == "apps/Deployment":
                self.deployment(kind, obj)
            elif kind.crd:
                self.knative(kind, obj)
        if gone:
            self.collect(gone)
        all_svcs = self.store.by_kind.get("/Service", {})
        all_hpas = self.store.by_kind.get("autoscaling/HorizontalPodAutoscaler", {})
        for ns, dname in deps:
            d = self.store.get("apps/Deployment", ns, dname)
            labels = (((d or {}).get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
            svcs |= self.served_by.get((ns, dname), set())
            if d is None or self.dep_labels.get((ns, dname)) != labels:
                # new, deleted or relabelled: which Services select it now
                self.dep_labels[(ns, dname)] = labels
                for (sns, sname), svc in all_svcs.items():
                    sel = (svc.get("spec") or {}).get("selector")
                    if sns == ns and sel and K.selector_matches({"matchLabels": sel}, labels):
                        svcs.add((ns, sname))
            for (hns, hname), h in all_hpas.items():
                if hns == ns and ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == dname:
                    hpas.add((ns, hname))
        for ns, name in sorted(svcs, key=lambda x: (x[0] or "", x[1])):
            if ns and self.store.get("/Namespace", None, ns) is not None:
                self.endpoints(ns, name)
        for ns, name in sorted(hpas, key=lambda x: (x[0] or "", x[1])):
            h = self.store.get("autoscaling/HorizontalPodAutoscaler", ns, name)
            if h is not None and not h["metadata"].get("deletionTimestamp"):
                self.hpa(h)
        for ns in sorted(namespaces):
            if self.store.get("/Namespace", None, ns) is not None:
                self.quotas(ns)

    # ------------------------------------------------------------ deployments
    def deployment(self, kind, d):
        meta, spec = d["metadata"], d.get("spec") or {}
        uid, gen, name, ns = meta["uid"], meta.get("generation", 1), meta["name"], meta["namespace"]
        replicas = spec.get("replicas", 1)
        h = template_hash(spec.get("template"))
        st = self.state.setdefault(uid, {"gen": 0, "start": 0.0, "hash": None, "rev": 0, "phase": None})
        now = time.time()
        failing = self.settings.fail_rollout.get("%s/%s" % (ns, name)) or self.settings.fail_rollout.get("*")
        rs = "%s-%s" % (name, h)
        if st["gen"] != gen:
            if st["hash"] != h:
                st["rev"] += 1
            st.update(gen=gen, start=now, hash=h, phase="progressing")
            deadline = spec.get("progressDeadlineSeconds", 600) * self.settings.deadline_scale
            self.schedule(self.settings.rollout_delay, ("apps/Deployment", ns, name))
            self.schedule(deadline, ("apps/Deployment", ns, name))
        phase = st["phase"]
        if phase == "progressing":
            elapsed = now - st["start"]
            if failing:
                deadline = spec.get("progressDeadlineSeconds", 600) * self.settings.deadline_scale
                if elapsed >= deadline:
                    phase = "failed"
            elif elapsed >= self.settings.rollout_delay or replicas == 0:
                phase = "complete"
        st["phase"] = phase
        ts = now_rfc3339()
        rev = str(st["rev"])

        def mutate(o):
            o["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = rev
            s = o.setdefault("status", {})
            s["observedGeneration"] = gen
            conds = s.setdefault("conditions", [])
            prev_avail = s.get("availableReplicas", 0)
            if phase == "complete":
                _set_counts(s, replicas=replicas, updatedReplicas=replicas, readyReplicas=replicas,
                            availableReplicas=replicas, unavailableReplicas=0)
                _cond(conds, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", ts)
                _cond(conds, "Progressing", "True", "NewReplicaSetAvailable",
                      'ReplicaSet "%s" has successfully progressed.' % rs, ts)
            elif phase == "failed":
                _set_counts(s, replicas=replicas, updatedReplicas=replicas, readyReplicas=min(prev_avail, replicas),
                            availableReplicas=min(prev_avail, replicas),
                            unavailableReplicas=replicas - min(prev_avail, replicas))
                if not s.get("availableReplicas"):
                    _cond(conds, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.", ts)
                _cond(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                      'ReplicaSet "%s" has timed out progressing.' % rs, ts)
            else:
                avail = min(prev_avail, replicas)
                _set_counts(s, replicas=replicas, updatedReplicas=0, readyReplicas=avail, availableReplicas=avail,
                            unavailableReplicas=replicas - avail)
                if not any(c.get("type") == "Available" for c in conds) or not avail:
                    _cond(conds, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.", ts)
                _cond(conds, "Progressing", "True", "ReplicaSetUpdated", 'ReplicaSet "%s" is progressing.' % rs, ts)
            conds.sort(key=lambda c: {"Available": 0, "Progressing": 1}.get(c["type"], 2))
        self.api.controller_write(kind, ns, name, mutate)

    # ------------------------------------------------------------ knative
    def knative(self, kind, svc):
        meta, spec = svc["metadata"], svc.get("spec") or {}
        uid, gen, name, ns = meta["uid"], meta.get("generation", 1), meta["name"], meta["namespace"]
        h = template_hash(spec.get("template"))
        st = self.state.setdefault(uid, {"gen": 0, "start": 0.0, "hash": None, "rev": 0, "phase": None,
                                         "ready_rev": None})
        now = time.time()
        fail = self.settings.fail_knative.get("%s/%s" % (ns, name)) or self.settings.fail_knative.get("*")
        if st["gen"] != gen:
            if st["hash"] != h:
                st["rev"] += 1
            st.update(gen=gen, start=now, hash=h, phase="progressing")
            self.schedule(self.settings.knative_delay, (self.api.key(kind), ns, name))
        if st["phase"] == "progressing" and now - st["start"] >= self.settings.knative_delay:
            st["phase"] = "failed" if fail else "ready"
        rev = "%s-%05d" % (name, st["rev"])
        if st["phase"] == "ready":
            st["ready_rev"] = rev
        phase = st["phase"]
        ts = now_rfc3339()
        domain = self.settings.domain

        def mutate(o):
            s = o.setdefault("status", {})
            s["observedGeneration"] = gen
            s["latestCreatedRevisionName"] = rev
            conds = s.setdefault("conditions", [])
            if phase == "ready":
                for t in ("ConfigurationsReady", "Ready", "RoutesReady"):
                    _cond(conds, t, "True", None, None, ts, update_time=False)
                    for c in conds:
                        if c["type"] == t:
                            c.pop("reason", None)
                            c.pop("message", None)
            elif phase == "failed":
                msg = 'Revision "%s" failed with message: %s.' % (rev, fail)
                _cond(conds, "ConfigurationsReady", "False", "RevisionFailed", msg, ts, update_time=False)
                _cond(conds, "Ready", "False", "RevisionFailed", msg, ts, update_time=False)
                if st["ready_rev"]:
                    _cond(conds, "RoutesReady", "True", None, None, ts, update_time=False)
                else:
                    _cond(conds, "RoutesReady", "False", "RevisionMissing",
                          'Configuration "%s" does not have any ready Revision.' % name, ts, update_time=False)
            else:
                _cond(conds, "ConfigurationsReady", "Unknown", "RevisionMissing",
                      'Configuration "%s" is waiting for a Revision to become ready.' % name, ts, update_time=False)
                _cond(conds, "Ready", "Unknown", "RevisionMissing",
                      'Configuration "%s" is waiting for a Revision to become ready.' % name, ts, update_time=False)
                _cond(conds, "RoutesReady", "Unknown", "RevisionMissing",
                      'Configuration "%s" is waiting for a Revision to become ready.' % name, ts, update_time=False)
            conds.sort(key=lambda c: c["type"])
            if st["ready_rev"]:
                s["latestReadyRevisionName"] = st["ready_rev"]
                s["url"] = "http://%s.%s.%s" % (name, ns, domain)
                s["address"] = {"url": "http://%s.%s.svc.cluster.local" % (name, ns)}
                s["traffic"] = [{"revisionName": st["ready_rev"], "latestRevision": True, "percent": 100}]
        self.api.controller_write(kind, ns, name, mutate, manager="controller")

    # ------------------------------------------------------------ endpoints
    def endpoints(self, ns, name):
        """The EndpointSlice of one Service."""
        eps_kind = self.api.kind_by_key("discovery.k8s.io/EndpointSlice")
        svc = self.store.get("/Service", ns, name)
        cached = self.store.get("discovery.k8s.io/EndpointSlice", ns, self.slice_of.get((ns, name), ""))
        if cached is not None:
            have = [cached]
        else:
            have = [s for s in self.store.list("discovery.k8s.io/EndpointSlice", ns)
                    if (s["metadata"].get("labels") or {}).get("endpointslice.kubernetes.io/managed-by")
                    == "endpointslice-controller.k8s.io"
                    and (s["metadata"].get("labels") or {}).get("kubernetes.io/service-name") == name]
        spec = (svc or {}).get("spec") or {}
        sel = spec.get("selector")
        if svc is None or not sel or spec.get("type") == "ExternalName" or svc["metadata"].get("deletionTimestamp"):
            for s in have:
                self.api.controller_delete(eps_kind, ns, s["metadata"]["name"])
            return
        endpoints, ports = [], []
        matched = sorted((d for (dns, _), d in self.store.by_kind.get("apps/Deployment", {}).items()
                          if dns == ns and K.selector_matches({"matchLabels": sel}, (
                              (d["spec"].get("template") or {}).get("metadata") or {}).get("labels"))),
                         key=lambda d: d["metadata"]["name"])
        for sets in self.served_by.values():
            sets.discard((ns, name))
        for d in matched:
            self.served_by.setdefault((ns, d["metadata"]["name"]), set()).add((ns, name))
            n = (d.get("status") or {}).get("availableReplicas", 0)
            h = template_hash(d["spec"].get("template"))
            base = int(hashlib.sha256(d["metadata"]["uid"].encode()).hexdigest()[:4], 16)
            unready = self.settings.not_ready.get("%s/%s" % (ns, d["metadata"]["name"])) or {}
            for i in range(n):
                # a pod failing its readiness probe is neither ready nor
                # serving; one being deleted is terminating, and serving
                # until its endpoints stop (the EndpointSlice conditions)
                down = i >= n - int(unready.get("count", 0))
                term = down and bool(unready.get("terminating"))
                cond = {"ready": not down, "serving": (not down) or term, "terminating": term}
                endpoints.append({"addresses": ["10.244.%d.%d" % ((base + i) // 250 % 250, (base + i) % 250 + 2)],
                                  "conditions": cond,
                                  "targetRef": {"kind": "Pod", "namespace": ns,
                                                "name": "%s-%s-%s" % (d["metadata"]["name"], h, template_hash(i)[:5])},
                                  "nodeName": "fake-node"})
        containers = []
        for d in matched:
            containers += (((d["spec"].get("template") or {}).get("spec") or {}).get("containers") or [])
        for p in spec.get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            if isinstance(tp, str):
                found = [cp.get("containerPort") for c in containers for cp in c.get("ports") or []
                         if cp.get("name") == tp]
                if not found:
                    continue
                tp = found[0]
            ports.append({"port": tp, "protocol": p.get("protocol", "TCP"), "name": p.get("name", "")})
        desired = {"addressType": "IPv4", "endpoints": endpoints, "ports": ports}
        # what the fake serves must be what the 1.36 API would: a field the
        # schema lacks or of the wrong type is a bug in the fake
        _, dec = decode(desired, self.api.node(eps_kind))
        if dec.unknown or dec.type_error:
            raise AssertionError("fake EndpointSlice not in the 1.36 schema: %s" % (dec.unknown or dec.type_error))
        if have:
            cur = have[0]
            if any(cur.get(k) != v for k, v in desired.items()):
                def mutate(o, desired=desired):
                    o.update(copy.deepcopy(desired))
                self.api.controller_write(eps_kind, ns, cur["metadata"]["name"], mutate, subresource="")
            for extra in have[1:]:
                self.api.controller_delete(eps_kind, ns, extra["metadata"]["name"])
        else:
            obj = {"metadata": {"generateName": name + "-", "labels": {
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                "kubernetes.io/service-name": name},
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                     "uid": svc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]}}
            obj.update(copy.deepcopy(desired))
            made = self.api.controller_create(eps_kind, ns, obj, "kube-controller-manager")
            self.slice_of[(ns, name)] = made["metadata"]["name"]

    # ------------------------------------------------------------ hpa
    def hpa(self, hpa):
        kind = self.api.kind_by_key("autoscaling/HorizontalPodAutoscaler")
        ns = hpa["metadata"]["namespace"]
        spec = hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        target = None
        if ref.get("kind") == "Deployment":
            target = self.store.get("apps/Deployment", ns, ref.get("name"))
        mn, mx = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
        ts = now_rfc3339()

        def mutate(o):
            s = o.setdefault("status", {})
            conds = s.setdefault("conditions", [])
            if target is None:
                s.pop("currentReplicas", None)
                s["desiredReplicas"] = 0
                _cond(conds, "AbleToScale", "False", "FailedGetScale",
                      'the HPA controller was unable to get the target\'s current scale: '
                      '%s.apps "%s" not found' % ("deployments", ref.get("name")), ts, update_time=False)
            else:
                cur = (target.get("status") or {}).get("replicas", 0)
                want = (target.get("spec") or {}).get("replicas", 1)
                _set_counts(s, currentReplicas=cur)
                s["desiredReplicas"] = max(mn, min(mx, want))
                _cond(conds, "AbleToScale", "True", "ReadyForNewScale",
                      "recommended size matches current size", ts, update_time=False)
                _cond(conds, "ScalingActive", "True", "ValidMetricFound",
                      "the HPA was able to successfully calculate a replica count from cpu resource "
                      "utilization (percentage of request)", ts, update_time=False)
                limited = want < mn or want > mx
                _cond(conds, "ScalingLimited", "True" if limited else "False",
                      ("TooFewReplicas" if want < mn else "TooManyReplicas") if limited else "DesiredWithinRange",
                      "the desired replica count is %s" % (
                          "less than the minimum replica count" if want < mn else
                          "more than the maximum replica count" if want > mx else "within the acceptable range"),
                      ts, update_time=False)
        self.api.controller_write(kind, ns, hpa["metadata"]["name"], mutate)

    # ------------------------------------------------------------ quota
    def quotas(self, ns):
        kind = self.api.kind_by_key("/ResourceQuota")
        quotas = self.store.list("/ResourceQuota", ns)
        if not quotas:
            return
        counts = {}
        for k in self.api.kinds():
            if k.namespaced:
                n = len(self.store.list(self.api.key(k), ns))
                counts["count/" + k.resource] = n
                if not k.group:
                    counts[k.plural] = n
        sums = {}
        for d in self.store.list("apps/Deployment", ns):
            reps = (d.get("spec") or {}).get("replicas", 1)
            for c in (((d["spec"].get("template") or {}).get("spec") or {}).get("containers") or []):
                res = c.get("resources") or {}
                for which in ("requests", "limits"):
                    for r, q in (res.get(which) or {}).items():
                        try:
                            sums["%s.%s" % (which, r)] = sums.get("%s.%s" % (which, r), 0) + quantity_value(q) * reps
                            if which == "requests":
                                sums[r] = sums.get(r, 0) + quantity_value(q) * reps
                        except QuantityError:
                            pass
            counts["pods"] = counts.get("pods", 0) + reps
        for q in quotas:
            hard = (q.get("spec") or {}).get("hard") or {}

            def mutate(o, hard=hard):
                used = {}
                for key, limit in hard.items():
                    if key in counts:
                        used[key] = str(counts[key])
                    elif key in sums:
                        used[key] = _quantity_text(sums[key])
                    else:
                        used[key] = "0"
                o["status"] = {"hard": dict(hard), "used": used}
            self.api.controller_write(kind, ns, q["metadata"]["name"], mutate)

    # ------------------------------------------------------------ namespaces
    def namespace(self, nso):
        ns = nso["metadata"]["name"]
        if (nso.get("status") or {}).get("phase") != "Active":
            return
        sa = self.api.kind_by_key("/ServiceAccount")
        cm = self.api.kind_by_key("/ConfigMap")
        if self.store.get("/ServiceAccount", ns, "default") is None:
            self.api.controller_create(sa, ns, {"metadata": {"name": "default"}}, "kube-controller-manager")
        if self.store.get("/ConfigMap", ns, "kube-root-ca.crt") is None:
            self.api.controller_create(cm, ns, {"metadata": {"name": "kube-root-ca.crt", "annotations": {
                "kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver "
                                             "when using internal endpoints such as the internal service IP or "
                                             "kubernetes.default.svc. No other usage is guaranteed across "
                                             "distributions of Kubernetes clusters."}},
                                            "data": {"ca.crt": self.api.ca_pem}}, "kube-controller-manager")

    # ------------------------------------------------------------ deletion
    def _all(self):
        return list(self.store.objects.items())

    def _dependents(self, uid):
        out = []
        for (kk, ns, name), o in self._all():
            for ref in o["metadata"].get("ownerReferences") or []:
                if ref.get("uid") == uid:
                    out.append((kk, ns, name, o))
        return out

    def finalize(self, kind, obj):
        """Objects with a deletionTimestamp: namespaces are emptied,
        foregroundDeletion waits for dependents, orphan frees them."""
        meta = obj["metadata"]
        uid = meta["uid"]
        seen = self.deleting.setdefault(uid, time.time())
        if time.time() - seen < self.settings.gc_delay:
            self.schedule(self.settings.gc_delay, (self.api.key(kind), meta.get("namespace"), meta["name"]))
            return
        kk = self.api.key(kind)
        if kk == "/Namespace":
            ns = meta["name"]
            left = 0
            for (okk, ons, oname), o in self._all():
                if ons != ns:
                    continue
                okind = self.api.kind_by_key(okk)
                if o["metadata"].get("finalizers"):
                    if not o["metadata"].get("deletionTimestamp"):
                        def mark(x):
                            x["metadata"]["deletionTimestamp"] = now_rfc3339()
                            x["metadata"]["deletionGracePeriodSeconds"] = 0
                        self.api.controller_write(okind, ns, oname, mark, subresource="")
                    left += 1
                else:
                    self.api.controller_delete(okind, ns, oname)
            if left:
                self.schedule(0.1, (kk, None, ns))
                return
            self.api.controller_delete(kind, None, ns)
            self.deleting.pop(uid, None)
            return
        fins = list(meta.get("finalizers") or [])
        if "foregroundDeletion" in fins:
            deps = self._dependents(uid)
            for dkk, dns, dname, d in deps:
                dkind = self.api.kind_by_key(dkk)
                if d["metadata"].get("finalizers"):
                    if not d["metadata"].get("deletionTimestamp"):
                        def mark(x):
                            x["metadata"]["deletionTimestamp"] = now_rfc3339()
                            x["metadata"]["deletionGracePeriodSeconds"] = 0
                        self.api.controller_write(dkind, dns, dname, mark, subresource="")
                else:
                    self.api.controller_delete(dkind, dns, dname)
            if any(True for _ in self._dependents(uid)):
                self.schedule(0.1, (kk, meta.get("namespace"), meta["name"]))
                return
            fins.remove("foregroundDeletion")
        if "orphan" in fins:
            for dkk, dns, dname, d in self._dependents(uid):
                def unown(x, uid=uid):
                    refs = [r for r in x["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                    if refs:
                        x["metadata"]["ownerReferences"] = refs
                    else:
                        x["metadata"].pop("ownerReferences", None)
                self.api.controller_write(self.api.kind_by_key(dkk), dns, dname, unown,
                                          manager="kube-controller-manager", subresource="")
            fins.remove("orphan")
        if fins:
            if fins != meta.get("finalizers"):
                def setf(x, fins=fins):
                    x["metadata"]["finalizers"] = fins
                self.api.controller_write(kind, meta.get("namespace"), meta["name"], setf, subresource="")
            return
        self.api.controller_delete(kind, meta.get("namespace"), meta["name"])
        self.deleting.pop(uid, None)

    def collect(self, gone):
        """Background collection: delete objects all of whose owners are gone."""
        uids = {o["metadata"]["uid"] for _, o in self._all()}
        for (kk, ns, name), o in self._all():
            refs = o["metadata"].get("ownerReferences") or []
            if refs and any(r.get("uid") in gone for r in refs) and not any(r.get("uid") in uids for r in refs):
                kind = self.api.kind_by_key(kk)
                if o["metadata"].get("finalizers"):
                    def mark(x):
                        x["metadata"].setdefault("deletionTimestamp", now_rfc3339())
                    self.api.controller_write(kind, ns, name, mark, subresource="")
                else:
                    self.api.controller_delete(kind, ns, name)
